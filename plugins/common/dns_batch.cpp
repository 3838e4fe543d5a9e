// dns_batch.cpp - parallel lookups with one continuation. See dns_batch.hpp.
#include "plugins/common/dns_batch.hpp"

#include <algorithm>
#include <memory>

#include "core/proto/cidr.hpp"

namespace asmtpd::plugins {

void dns_lookup_all(io::DnsScope& dns, std::vector<DnsQuestion> questions, std::uint64_t deadline_ms,
                    DnsBatchDone done) {
    if (questions.empty()) return done({});
    struct Gather {
        std::vector<proto::DnsResult> results;
        std::size_t remaining;
        DnsBatchDone done;
    };
    auto g = std::make_shared<Gather>(Gather{std::vector<proto::DnsResult>(questions.size()), questions.size(),
                                             std::move(done)});
    for (std::size_t i = 0; i < questions.size(); ++i) {
        dns.query(questions[i].name, questions[i].type, deadline_ms, [g, i](const proto::DnsResult& r) {
            g->results[i] = r;
            if (--g->remaining == 0) g->done(std::move(g->results));
        });
    }
}

std::uint64_t dns_deadline_ms(std::chrono::milliseconds plugin_timeout, std::optional<std::uint64_t> configured) {
    auto budget = static_cast<std::uint64_t>(std::max<std::int64_t>(plugin_timeout.count() - 250, 50));
    return std::min(configured.value_or(5000), budget);
}

bool is_loopback_client(std::string_view ip) {
    auto a = proto::parse_ip(ip);
    return a && (proto::parse_cidr("127.0.0.0/8")->contains(*a) || proto::parse_cidr("::1")->contains(*a));
}

std::string dns_outcome(const proto::DnsResult& r) {
    std::string out(proto::dns_status_name(r.status));
    if (!r.error.empty()) out += " (" + r.error + ")";
    return out;
}

}  // namespace asmtpd::plugins
