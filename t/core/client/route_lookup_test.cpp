// route_lookup_test.cpp - tests core/client/route_lookup.cpp on a real loop and resolver against
// t/e2e/dns_server.py: a host name's addresses, MX routing (preference order, implicit MX,
// null MX, NXDOMAIN, a host without address), SERVFAIL and a dead server as TempFail within the
// deadline, and literals without a query.
#include "core/client/route_lookup.hpp"

#include <doctest/doctest.h>

#include <optional>

#include "t/core/io/test_loop.hpp"
#include "t/support/dns_server.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using client::Route;
using io::test::TestLoop;

namespace {

const std::string kZones = R"($TTL 60
$ORIGIN route.test.
@           SOA ns hostmaster 1 3600 600 86400 60
relay       A 192.0.2.1
relay       AAAA 2001:db8::1
pref        MX 20 second
pref        MX 10 first
first       A 192.0.2.10
second      A 192.0.2.20
second      AAAA 2001:db8::20
implicit    AAAA 2001:db8::30
nullmx      MX 0 .
lame        MX 10 nowhere
txtonly     TXT "no mail"
!servfail broken.route.test.
!drop dead.route.test.
!drop deadmx.route.test.
halfdead    MX 10 deadmx
)";

struct Fixture {
    explicit Fixture(const std::string& server) {
        io::ResolverOptions o;
        o.servers = {server};
        o.timeout_ms = 500;
        o.attempts = 1;
        std::string error;
        resolver = io::Resolver::create(loop.get(), o, error);
        REQUIRE_MESSAGE(resolver, error);
        scope = std::make_unique<io::DnsScope>(*resolver);
    }
    Route host(const std::string& name, std::uint64_t deadline = 3000) {
        std::optional<Route> got;
        client::lookup_host_route(*scope, name, deadline, [&](Route r) { got = std::move(r); });
        REQUIRE(loop.run_until([&] { return got.has_value(); }, 6000));
        return *got;
    }
    Route mx(const std::string& domain, std::uint64_t deadline = 3000) {
        std::optional<Route> got;
        client::lookup_mx_route(*scope, domain, deadline, [](std::size_t) { return 0; }, [&](Route r) { got = std::move(r); });
        REQUIRE(loop.run_until([&] { return got.has_value(); }, 6000));
        return *got;
    }
    TestLoop loop;
    std::unique_ptr<io::Resolver> resolver;
    std::unique_ptr<io::DnsScope> scope;
};

}  // namespace

TEST_CASE("lookup_host_route: A and AAAA; literals and localhost without a query") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());
    Route r = f.host("relay.route.test");
    CHECK(r.status == Route::Status::Ok);
    CHECK(r.addresses == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    const auto sent = f.resolver->stats().sent;
    CHECK(f.host("192.0.2.7").addresses == std::vector<std::string>{"192.0.2.7"});
    CHECK(f.host("localhost").addresses == std::vector<std::string>{"127.0.0.1"});
    CHECK(f.resolver->stats().sent == sent);
    // No address is never permanent for the configured relay.
    CHECK(f.host("txtonly.route.test").status == Route::Status::TempFail);
    CHECK(f.host("ghost.route.test").status == Route::Status::TempFail);
    CHECK(f.host("broken.route.test").status == Route::Status::TempFail);
}

TEST_CASE("lookup_mx_route: preference order, implicit MX, null MX, no route") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());
    Route r = f.mx("pref.route.test");
    CHECK(r.status == Route::Status::Ok);
    CHECK(r.addresses == std::vector<std::string>{"192.0.2.10", "192.0.2.20", "2001:db8::20"});
    r = f.mx("Implicit.Route.Test");
    CHECK(r.status == Route::Status::Ok);
    CHECK(r.addresses == std::vector<std::string>{"2001:db8::30"});
    CHECK(f.mx("nullmx.route.test").status == Route::Status::NullMx);
    r = f.mx("ghost.route.test");
    CHECK(r.status == Route::Status::NoRoute);
    CHECK(r.why.find("NXDOMAIN") != std::string::npos);
    CHECK(f.mx("txtonly.route.test").status == Route::Status::NoRoute);   // neither MX nor A/AAAA
    CHECK(f.mx("lame.route.test").status == Route::Status::NoRoute);      // its MX host does not exist
    CHECK(f.mx("[192.0.2.9]").addresses == std::vector<std::string>{"192.0.2.9"});
    CHECK(f.mx("").status == Route::Status::NoRoute);
    CHECK(f.mx("[bogus]").status == Route::Status::NoRoute);
}

TEST_CASE("lookup_mx_route: SERVFAIL and silence are temporary, within the one deadline") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());
    CHECK(f.mx("broken.route.test").status == Route::Status::TempFail);
    auto t0 = uv_now(f.loop.get());
    Route r = f.mx("dead.route.test", 300);
    CHECK(r.status == Route::Status::TempFail);
    r = f.mx("halfdead.route.test", 300);   // the MX answers, its host's addresses never do
    CHECK(r.status == Route::Status::TempFail);
    uv_update_time(f.loop.get());
    CHECK(uv_now(f.loop.get()) - t0 < 1500);
}

}  // namespace ASMTPD_TEST_UNIT
