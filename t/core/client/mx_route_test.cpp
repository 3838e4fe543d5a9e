// mx_route_test.cpp - tests core/client/mx_route.cpp: recipients grouped by domain, MX hosts in
// preference order with equal preferences shuffled, null MX (RFC 7505), domain literals, and
// the route judged from A/AAAA answers (temporary versus permanent).
#include "core/client/mx_route.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using client::Route;
using proto::DnsRecord;
using proto::DnsResult;
using proto::DnsStatus;

namespace {

DnsRecord mx(std::uint16_t pref, std::string host) { return DnsRecord{std::move(host), pref, 60}; }

DnsResult answer(std::vector<std::string> addresses) {
    DnsResult r;
    r.status = DnsStatus::answer;
    for (auto& a : addresses) r.records.push_back(DnsRecord{std::move(a), 0, 60});
    return r;
}
DnsResult status(DnsStatus s) {
    DnsResult r;
    r.status = s;
    return r;
}

std::size_t first(std::size_t) { return 0; }

}  // namespace

TEST_CASE("group_by_domain: envelope order, case folded, literals and domain-less recipients kept apart") {
    auto g = client::group_by_domain({"<a@B.example>", "<c@d.example>", "<e@b.EXAMPLE>", "<postmaster>",
                                      "<f@[192.0.2.1]>", "<g@b.example.>"});
    REQUIRE(g.size() == 4);
    CHECK(g[0].domain == "b.example");
    CHECK(g[0].indexes == std::vector<std::size_t>{0, 2, 5});
    CHECK(g[1].domain == "d.example");
    CHECK(g[1].indexes == std::vector<std::size_t>{1});
    CHECK(g[2].domain.empty());
    CHECK(g[3].domain == "[192.0.2.1]");
    CHECK(client::domain_of("<\"a@b\"@c.example>") == "c.example");
}

TEST_CASE("domain_literal_address") {
    CHECK(client::domain_literal_address("[192.0.2.1]") == "192.0.2.1");
    CHECK(client::domain_literal_address("[IPv6:2001:db8::1]") == "2001:db8::1");
    CHECK(client::domain_literal_address("[ipv6:::1]") == "::1");
    CHECK(client::domain_literal_address("[2001:db8::1]") == "2001:db8::1");   // lenient: no "IPv6:" tag
    CHECK_FALSE(client::domain_literal_address("[300.1.1.1]"));
    CHECK_FALSE(client::domain_literal_address("example.org"));
    CHECK_FALSE(client::domain_literal_address("[]"));
}

TEST_CASE("is_null_mx: '0 .' alone or among others; a real host is not") {
    CHECK(client::is_null_mx({mx(0, ".")}));
    CHECK(client::is_null_mx({mx(0, "")}));
    CHECK(client::is_null_mx({mx(10, "mx.example"), mx(0, "")}));
    CHECK_FALSE(client::is_null_mx({mx(0, "mx.example")}));
    CHECK_FALSE(client::is_null_mx({}));
}

TEST_CASE("order_mx: ascending preference, duplicates dropped, at most kMaxMxHosts") {
    auto hosts = client::order_mx({mx(20, "b.example"), mx(10, "A.example"), mx(30, "c.example"), mx(20, "b.example")},
                                  &first);
    CHECK(hosts == std::vector<std::string>{"a.example", "b.example", "c.example"});
    std::vector<DnsRecord> many;
    for (int i = 0; i < 15; ++i) many.push_back(mx(static_cast<std::uint16_t>(i), "h" + std::to_string(i) + ".example"));
    auto capped = client::order_mx(many, &first);
    CHECK(capped.size() == client::kMaxMxHosts);
    CHECK(capped.front() == "h0.example");
}

TEST_CASE("order_mx: equal preferences are shuffled, never mixed with other preferences") {
    std::vector<DnsRecord> records = {mx(10, "x.example"), mx(10, "y.example"), mx(10, "z.example"), mx(5, "first.example"),
                                      mx(50, "last.example")};
    std::set<std::string> seconds;
    std::mt19937 rng(12345);   // fixed seed: the test is repeatable
    for (int round = 0; round < 60; ++round) {
        auto hosts = client::order_mx(records, [&](std::size_t n) { return std::size_t(rng()) % n; });
        REQUIRE(hosts.size() == 5);
        CHECK(hosts.front() == "first.example");
        CHECK(hosts.back() == "last.example");
        CHECK(std::set<std::string>(hosts.begin() + 1, hosts.end() - 1) ==
              std::set<std::string>{"x.example", "y.example", "z.example"});
        seconds.insert(hosts[1]);
    }
    CHECK(seconds.size() == 3);   // each of the three came first in some round
}

TEST_CASE("route_from_addresses: hosts in order, IPv4 first within a host, duplicates dropped") {
    Route r = client::route_from_addresses({"mx1", "mx2"}, {answer({"192.0.2.1"}), answer({"2001:db8::1"}),
                                                            answer({"192.0.2.2", "192.0.2.1"}), status(DnsStatus::nodata)});
    CHECK(r.status == Route::Status::Ok);
    CHECK(r.addresses == std::vector<std::string>{"192.0.2.1", "2001:db8::1", "192.0.2.2"});
    // One host failing does not matter while another has addresses.
    r = client::route_from_addresses({"mx1", "mx2"}, {status(DnsStatus::servfail), status(DnsStatus::timeout),
                                                      answer({"192.0.2.2"}), status(DnsStatus::nodata)});
    CHECK(r.status == Route::Status::Ok);
    CHECK(r.addresses == std::vector<std::string>{"192.0.2.2"});
}

TEST_CASE("route_from_addresses: no address is temporary when a lookup failed, permanent otherwise") {
    Route r = client::route_from_addresses({"mx1", "mx2"}, {status(DnsStatus::nxdomain), status(DnsStatus::nxdomain),
                                                            status(DnsStatus::timeout), status(DnsStatus::nodata)});
    CHECK(r.status == Route::Status::TempFail);
    CHECK(r.why.find("mx2: timeout") != std::string::npos);
    r = client::route_from_addresses({"mx1"}, {status(DnsStatus::nxdomain), status(DnsStatus::nodata)});
    CHECK(r.status == Route::Status::NoRoute);
    CHECK(r.addresses.empty());
}

TEST_CASE("route_from_addresses: at most kMaxRouteAddresses") {
    std::vector<std::string> hosts;
    std::vector<DnsResult> results;
    for (int h = 0; h < 10; ++h) {
        hosts.push_back("mx" + std::to_string(h));
        results.push_back(answer({"192.0.2." + std::to_string(3 * h), "192.0.2." + std::to_string(3 * h + 1),
                                  "192.0.2." + std::to_string(3 * h + 2)}));
        results.push_back(status(DnsStatus::nodata));
    }
    CHECK(client::route_from_addresses(hosts, results).addresses.size() == client::kMaxRouteAddresses);
}

}  // namespace ASMTPD_TEST_UNIT
