// rcpthosts.cpp - the local-domain set behind rcpt_ok and spp's SMTPRCPTHOSTSOK.
#include "plugins/common/rcpthosts.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::plugins {

RcptHosts RcptHosts::load(const hooks::FlatConfig& config, std::string_view hostname) {
    RcptHosts h;
    auto me = config.first("me");
    h.add(me ? std::string_view(*me) : hostname);
    for (const auto* file : {"rcpthosts", "morercpthosts"})
        for (const auto& entry : config.lines(file)) h.add(entry);
    return h;
}

void RcptHosts::add(std::string_view entry) {
    if (entry.empty()) return;
    std::string e = proto::to_lower(entry);
    if (e.front() == '.') {
        if (e.size() > 1) suffixes_.push_back(std::move(e));
    } else {
        exact_.insert(std::move(e));
    }
}

bool RcptHosts::local_domain(std::string_view domain_any_case) const {
    std::string domain = proto::to_lower(domain_any_case);
    if (exact_.count(domain)) return true;
    for (const auto& s : suffixes_)
        if (domain.size() > s.size() && domain.compare(domain.size() - s.size(), s.size(), s) == 0) return true;
    return false;
}

}  // namespace asmtpd::plugins
