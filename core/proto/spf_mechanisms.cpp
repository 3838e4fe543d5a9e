// spf_mechanisms.cpp - matching one directive (RFC 7208 §5) and the validated client names
// shared by "ptr" and %{p} (§5.5, §7.3).
//
// DNS errors: SERVFAIL or a timeout ends evaluation with temperror (§5), except inside the
// ptr/%{p} validation, where a failed PTR lookup means "no match" and a failed address lookup
// skips that name (§5.5). NXDOMAIN and empty answers are "void" and count toward the limit of
// two (§4.6.4). Like pyspf, an mx mechanism looks up every exchange before matching, so a
// temperror or void-limit on any of them decides even if another exchange matched.
#include <algorithm>
#include <string>
#include <utility>

#include "core/proto/dns_message.hpp"
#include "core/proto/spf_checker.hpp"

namespace asmtpd::proto::spf {

bool Checker::client_in(const std::string& address, const Directive& d) const {
    auto addr = parse_ip(address);
    if (!addr || !ip_ || addr->is_v4() != ip_->is_v4()) return false;
    auto net = parse_cidr(addr->to_string() + "/" + std::to_string(addr->is_v4() ? d.cidr4 : d.cidr6));
    return net && net->contains(*ip_);
}

// No switch statements in the coroutines: clang 14 runs the destructors of a switch's
// co_return temporaries on resume paths that never built them.
Task<Match> Checker::match(const Directive& d, std::string domain) {
    if (d.mechanism == Mechanism::All) co_return Match::yes();
    if (d.mechanism == Mechanism::Ip4 || d.mechanism == Mechanism::Ip6) {
        // An ip4 never matches an IPv6 client and vice versa (IPv4-mapped clients are IPv4).
        bool family = (d.mechanism == Mechanism::Ip4) == ip_->is_v4();
        bool hit = family && d.network.contains(*ip_);
        co_return hit ? Match::yes() : Match::no();
    }
    if (!count_term()) co_return Match::too_many_terms();
    std::string target = domain;
    if (!d.domain_spec.empty()) {
        std::optional<std::string> t = co_await expand(d.domain_spec, MacroUse::DomainSpec, domain);
        if (!t) co_return Match::fail(Result::PermError, "bad domain-spec in '" + d.text + "'");
        target = lower_no_dot(*t);
    }
    Match m;
    if (d.mechanism == Mechanism::A) m = co_await match_address(d, std::move(target));
    else if (d.mechanism == Mechanism::Mx) m = co_await match_mx(d, std::move(target));
    else if (d.mechanism == Mechanism::Ptr) m = co_await match_ptr(std::move(target));
    else if (d.mechanism == Mechanism::Exists) m = co_await match_exists(std::move(target));
    else if (d.mechanism == Mechanism::Include) m = co_await match_include(std::move(target));
    co_return m;
}

Task<Match> Checker::match_address(const Directive& d, std::string target) {
    DnsAnswer a = co_await ask(target, address_type());
    if (is_temp_error(a)) co_return Match::fail(Result::TempError, "DNS error looking up " + target);
    if (is_void(a)) {
        if (!count_void()) co_return Match::too_many_voids();
        co_return Match::no();
    }
    for (const auto& r : a.records)
        if (client_in(r, d)) co_return Match::yes();
    co_return Match::no();
}

Task<Match> Checker::match_mx(const Directive& d, std::string target) {
    DnsAnswer mx = co_await ask(target, QType::MX);
    if (is_temp_error(mx)) co_return Match::fail(Result::TempError, "DNS error looking up MX of " + target);
    if (is_void(mx)) {
        if (!count_void()) co_return Match::too_many_voids();
        co_return Match::no();
    }
    if (mx.records.size() > kMaxMxNames)
        co_return Match::fail(Result::PermError, "more than 10 MX names at " + target);
    bool matched = false;
    for (const auto& host : mx.records) {
        DnsAnswer a = co_await ask(host, address_type());
        if (is_temp_error(a)) co_return Match::fail(Result::TempError, "DNS error looking up " + host);
        if (is_void(a)) {
            if (!count_void()) co_return Match::too_many_voids();
            continue;
        }
        for (const auto& r : a.records) matched = matched || client_in(r, d);
    }
    if (matched) co_return Match::yes();
    co_return Match::no();
}

Task<Match> Checker::validate_names() {
    if (names_) co_return Match::no();
    names_.emplace();
    std::string reverse = dns_reverse_name(ip_->to_string()).value_or(std::string());
    DnsAnswer ptr = co_await ask(reverse, QType::PTR);
    if (is_temp_error(ptr)) co_return Match::no();   // §5.5: the mechanism fails to match
    if (is_void(ptr)) {
        if (!count_void()) co_return Match::too_many_voids();
        co_return Match::no();
    }
    std::size_t n = std::min<std::size_t>(ptr.records.size(), kMaxPtrNames);
    Directive exact;   // full-length comparison: the default /32 and /128
    for (std::size_t i = 0; i < n; ++i) {
        std::string name = lower_no_dot(ptr.records[i]);
        DnsAnswer a = co_await ask(name, address_type());
        if (is_temp_error(a)) continue;   // §5.5: skip that name
        if (is_void(a)) {
            if (!count_void()) co_return Match::too_many_voids();
            continue;
        }
        for (const auto& r : a.records) {
            if (client_in(r, exact)) {
                names_->push_back(name);
                break;
            }
        }
    }
    co_return Match::no();
}

Task<Match> Checker::match_ptr(std::string target) {
    Match v = co_await validate_names();
    if (v.error) co_return v;
    std::string sub = "." + target;
    for (const auto& n : *names_) {
        if (n == target) co_return Match::yes();
        if (n.size() > sub.size() && n.compare(n.size() - sub.size(), sub.size(), sub) == 0) co_return Match::yes();
    }
    co_return Match::no();
}

Task<Match> Checker::match_exists(std::string target) {
    DnsAnswer a = co_await ask(target, QType::A);   // §5.7: always A, whatever the client's family
    if (is_temp_error(a)) co_return Match::fail(Result::TempError, "DNS error looking up " + target);
    if (is_void(a)) {
        if (!count_void()) co_return Match::too_many_voids();
        co_return Match::no();
    }
    co_return Match::yes();
}

Task<Match> Checker::match_include(std::string target) {
    HostResult r = co_await check_host(target);
    // §5.2 table
    if (r.result == Result::Pass) co_return Match::yes();
    if (r.result == Result::Fail || r.result == Result::SoftFail || r.result == Result::Neutral) co_return Match::no();
    if (r.result == Result::TempError || r.result == Result::PermError) co_return Match::fail(r.result, r.problem);
    co_return Match::fail(Result::PermError, "include:" + target + " has no SPF record");
}

}  // namespace asmtpd::proto::spf
