// mx_route.cpp - grouping, MX ordering, null MX and routes from DNS answers (see mx_route.hpp).
//
// Must never: put a higher preference before a lower one, try an address twice, or call a
// route permanent (NoRoute) when a lookup failed temporarily. Pure: no I/O.
#include "core/client/mx_route.hpp"

#include <algorithm>

#include "core/proto/cidr.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::client {

std::string domain_of(std::string_view recipient) {
    if (!recipient.empty() && recipient.front() == '<') recipient.remove_prefix(1);
    if (!recipient.empty() && recipient.back() == '>') recipient.remove_suffix(1);
    const auto at = recipient.rfind('@');
    if (at == std::string_view::npos) return {};
    std::string d = proto::to_lower(recipient.substr(at + 1));
    if (!d.empty() && d.back() == '.' && d.front() != '[') d.pop_back();
    return d;
}

std::vector<RecipientGroup> group_by_domain(const std::vector<std::string>& recipients) {
    std::vector<RecipientGroup> out;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        std::string d = domain_of(recipients[i]);
        auto it = std::find_if(out.begin(), out.end(), [&](const RecipientGroup& g) { return g.domain == d; });
        if (it == out.end()) out.push_back({std::move(d), {i}});
        else it->indexes.push_back(i);
    }
    return out;
}

std::optional<std::string> domain_literal_address(std::string_view domain) {
    if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return std::nullopt;
    std::string_view inner = domain.substr(1, domain.size() - 2);
    if (proto::to_lower(inner.substr(0, 5)) == "ipv6:") inner.remove_prefix(5);
    if (!proto::parse_ip(inner)) return std::nullopt;
    return std::string(inner);
}

bool is_null_mx(const std::vector<proto::DnsRecord>& mx) {
    return std::any_of(mx.begin(), mx.end(), [](const proto::DnsRecord& r) { return r.value.empty() || r.value == "."; });
}

std::vector<std::string> order_mx(std::vector<proto::DnsRecord> mx, const PickIndex& pick) {
    std::stable_sort(mx.begin(), mx.end(),
                     [](const proto::DnsRecord& a, const proto::DnsRecord& b) { return a.preference < b.preference; });
    // Shuffle each run of equal preference (Fisher-Yates with the given picker).
    for (std::size_t start = 0; start < mx.size();) {
        std::size_t end = start;
        while (end < mx.size() && mx[end].preference == mx[start].preference) ++end;
        for (std::size_t n = end - start; n > 1; --n) {
            const std::size_t j = pick(n) % n;
            std::swap(mx[start + n - 1], mx[start + j]);
        }
        start = end;
    }
    std::vector<std::string> hosts;
    for (const auto& r : mx) {
        std::string h = proto::to_lower(r.value);
        if (h.empty() || h == "." || std::find(hosts.begin(), hosts.end(), h) != hosts.end()) continue;
        hosts.push_back(std::move(h));
        if (hosts.size() == kMaxMxHosts) break;
    }
    return hosts;
}

Route route_from_addresses(const std::vector<std::string>& hosts, const std::vector<proto::DnsResult>& results) {
    Route route;
    bool failed = false;
    std::string failure;
    for (std::size_t i = 0; i < hosts.size() && 2 * i + 1 < results.size(); ++i) {
        for (const proto::DnsResult* r : {&results[2 * i], &results[2 * i + 1]}) {
            if (r->status != proto::DnsStatus::answer && r->status != proto::DnsStatus::nxdomain &&
                r->status != proto::DnsStatus::nodata) {
                if (!failed) failure = hosts[i] + ": " + std::string(proto::dns_status_name(r->status));
                failed = true;
            }
            for (const auto& rec : r->records) {
                if (route.addresses.size() == kMaxRouteAddresses) break;
                if (std::find(route.addresses.begin(), route.addresses.end(), rec.value) == route.addresses.end())
                    route.addresses.push_back(rec.value);
            }
        }
    }
    if (!route.addresses.empty()) {
        route.status = Route::Status::Ok;
        return route;
    }
    route.status = failed ? Route::Status::TempFail : Route::Status::NoRoute;
    route.why = failed ? "address lookup failed (" + failure + ")" : "no A or AAAA record";
    return route;
}

}  // namespace asmtpd::client
