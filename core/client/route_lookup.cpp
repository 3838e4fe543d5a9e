// route_lookup.cpp - DNS lookups of a route (see route_lookup.hpp).
//
// Must never: report NoRoute or NullMx for an answer that did not come (SERVFAIL, timeout are
// TempFail), or let a later stage outlive the shared deadline.
#include "core/client/route_lookup.hpp"

#include <arpa/inet.h>

#include <chrono>
#include <memory>

namespace asmtpd::client {

namespace {

using Clock = std::chrono::steady_clock;

bool ip_literal(const std::string& s) {
    in_addr a4{};
    in6_addr a6{};
    return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

bool answered(const proto::DnsResult& r) {
    return r.status == proto::DnsStatus::answer || r.status == proto::DnsStatus::nxdomain ||
           r.status == proto::DnsStatus::nodata;
}

std::string outcome(const proto::DnsResult& r) {
    std::string out(proto::dns_status_name(r.status));
    if (!r.error.empty()) out += " (" + r.error + ")";
    return out;
}

Route direct(std::string address) {
    Route r;
    r.status = Route::Status::Ok;
    r.addresses.push_back(std::move(address));
    return r;
}

// A and AAAA of every host, all at once; done gets the route judged from the answers.
void lookup_addresses(io::DnsScope& dns, std::vector<std::string> hosts, std::uint64_t deadline_ms, RouteDone done) {
    struct Gather {
        std::vector<std::string> hosts;
        std::vector<proto::DnsResult> results;
        std::size_t remaining;
        RouteDone done;
    };
    const std::size_t n = hosts.size() * 2;
    auto g = std::make_shared<Gather>(Gather{std::move(hosts), std::vector<proto::DnsResult>(n), n, std::move(done)});
    for (std::size_t i = 0; i < n; ++i) {
        const auto type = i % 2 == 0 ? proto::DnsType::a : proto::DnsType::aaaa;
        dns.query(g->hosts[i / 2], type, deadline_ms, [g, i](const proto::DnsResult& r) {
            g->results[i] = r;
            if (--g->remaining == 0) g->done(route_from_addresses(g->hosts, g->results));
        });
    }
}

}  // namespace

void lookup_host_route(io::DnsScope& dns, const std::string& host, std::uint64_t deadline_ms, RouteDone done) {
    if (host == "localhost") return done(direct("127.0.0.1"));
    if (ip_literal(host)) return done(direct(host));
    lookup_addresses(dns, {host}, deadline_ms, [host, done = std::move(done)](Route r) {
        if (r.status == Route::Status::NoRoute) r.status = Route::Status::TempFail;
        if (!r.why.empty()) r.why = host + ": " + r.why;
        done(std::move(r));
    });
}

void lookup_mx_route(io::DnsScope& dns, const std::string& domain, std::uint64_t deadline_ms, PickIndex pick,
                     RouteDone done) {
    if (auto literal = domain_literal_address(domain)) return done(direct(*literal));
    if (domain.empty() || domain.front() == '[') {
        Route r;
        r.status = Route::Status::NoRoute;
        r.why = domain.empty() ? "no domain" : "bad domain literal";
        return done(r);
    }
    const auto started = Clock::now();
    io::DnsScope* scope = &dns;   // valid inside its own callbacks (they never outlive it)
    dns.query(domain, proto::DnsType::mx, deadline_ms,
              [scope, domain, deadline_ms, started, pick = std::move(pick), done = std::move(done)](const proto::DnsResult& mx) {
                  Route r;
                  if (!answered(mx)) {
                      r.why = "MX lookup: " + outcome(mx);
                      return done(r);
                  }
                  if (mx.status == proto::DnsStatus::nxdomain) {
                      r.status = Route::Status::NoRoute;
                      r.why = "domain does not exist (NXDOMAIN)";
                      return done(r);
                  }
                  if (is_null_mx(mx.records)) {
                      r.status = Route::Status::NullMx;
                      r.why = "null MX";
                      return done(r);
                  }
                  std::vector<std::string> hosts = order_mx(mx.records, pick);
                  const bool implicit = hosts.empty();
                  if (implicit) hosts.push_back(domain);   // RFC 5321 §5.1: the implicit MX
                  const auto spent = static_cast<std::uint64_t>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
                  const std::uint64_t left = deadline_ms > spent ? deadline_ms - spent : 1;
                  lookup_addresses(*scope, std::move(hosts), left, [implicit, done](Route route) {
                      if (implicit && route.status == Route::Status::NoRoute) route.why = "no MX, A or AAAA record";
                      else if (!route.why.empty()) route.why = (implicit ? "implicit MX: " : "MX hosts: ") + route.why;
                      done(std::move(route));
                  });
              });
}

}  // namespace asmtpd::client
