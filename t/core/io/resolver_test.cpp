// resolver_test.cpp - the c-ares resolver on a real loop against the real t/e2e/dns_server.py:
// every record type, negative answers and their caching, coalescing, cancellation, per-caller
// deadlines under a slow and a dead server while other lookups go on, the in-flight cap.
#include "core/io/resolver.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "t/core/io/test_loop.hpp"
#include "t/support/dns_server.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using io::test::TestLoop;
using proto::DnsResult;
using proto::DnsStatus;
using proto::DnsType;

namespace {

const std::string kZones = R"($TTL 300
$ORIGIN example.test.
@        3600 SOA ns hostmaster 1 3600 600 86400 60
@             MX 10 mx1
@             MX 5 mx0
mx0           A 192.0.2.10
mx1           A 192.0.2.11
mx1           AAAA 2001:db8::11
alias         CNAME mx1
spf           TXT "v=spf1 " "ip4:192.0.2.0/24 -all"
big           TXT ")" + std::string(200, 'a') + "\" \"" + std::string(200, 'b') + "\" \"" + std::string(200, 'c') + R"("
short      1  A 192.0.2.99
11.2.0.192.in-addr.arpa. PTR mx1.example.test.
!delay slow.example.test. 2
!drop  dead.example.test.
!servfail broken.example.test.
)";

// One resolver on its own loop, pointed at one server.
struct Fixture {
    explicit Fixture(const std::string& server, std::size_t max_in_flight = 1000, std::uint32_t timeout_ms = 500,
                     int attempts = 1) {
        io::ResolverOptions o;
        o.servers = {server};
        o.timeout_ms = timeout_ms;
        o.attempts = attempts;
        o.max_in_flight = max_in_flight;
        std::string error;
        resolver = io::Resolver::create(loop.get(), o, error);
        REQUIRE_MESSAGE(resolver, error);
    }
    // Looks up and runs the loop until the answer arrives.
    DnsResult lookup(const std::string& name, DnsType type, std::uint64_t deadline_ms = 3000) {
        std::optional<DnsResult> got;
        auto q = resolver->query(name, type, deadline_ms, [&](const DnsResult& r) { got = r; });
        REQUIRE(loop.run_until([&] { return got.has_value(); }, 6000));
        return *got;
    }
    std::uint64_t now() { return uv_now(loop.get()); }

    TestLoop loop;
    std::unique_ptr<io::Resolver> resolver;
};

}  // namespace

TEST_CASE("resolver: answers for A, AAAA, MX, TXT (over TCP when truncated), PTR, CNAME") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());

    auto a = f.lookup("mx1.example.test", DnsType::a);
    CHECK(a.status == DnsStatus::answer);
    REQUIRE(a.records.size() == 1);
    CHECK(a.records[0].value == "192.0.2.11");
    CHECK(a.ttl == 300);

    CHECK(f.lookup("mx1.example.test", DnsType::aaaa).records.at(0).value == "2001:db8::11");
    auto mx = f.lookup("example.test", DnsType::mx);
    REQUIRE(mx.records.size() == 2);
    CHECK(((mx.records[0].preference == 10 && mx.records[0].value == "mx1.example.test") ||
           (mx.records[1].preference == 10 && mx.records[1].value == "mx1.example.test")));
    CHECK(f.lookup("spf.example.test", DnsType::txt).records.at(0).value == "v=spf1 ip4:192.0.2.0/24 -all");
    auto big = f.lookup("big.example.test", DnsType::txt);
    REQUIRE(big.status == DnsStatus::answer);
    CHECK(big.records.at(0).value == std::string(200, 'a') + std::string(200, 'b') + std::string(200, 'c'));
    CHECK(f.lookup("11.2.0.192.in-addr.arpa", DnsType::ptr).records.at(0).value == "mx1.example.test");
    CHECK(f.lookup("alias.example.test", DnsType::a).records.at(0).value == "192.0.2.11");
}

TEST_CASE("resolver: NXDOMAIN, no data and SERVFAIL are values; negative answers are cached") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());

    auto nx = f.lookup("nope.example.test", DnsType::a);
    CHECK(nx.status == DnsStatus::nxdomain);
    CHECK(nx.ttl == 60);   // min(SOA TTL 3600, minimum 60)
    auto nodata = f.lookup("mx0.example.test", DnsType::aaaa);
    CHECK(nodata.status == DnsStatus::nodata);
    CHECK(f.lookup("broken.example.test", DnsType::a).status == DnsStatus::servfail);
    CHECK(f.lookup("outside.invalid", DnsType::a).status == DnsStatus::servfail);   // REFUSED

    const int before = dns.queries();
    CHECK(f.lookup("nope.example.test", DnsType::a).status == DnsStatus::nxdomain);
    CHECK(f.lookup("mx0.example.test", DnsType::aaaa).status == DnsStatus::nodata);
    CHECK(dns.queries() == before);   // both from the cache
    // SERVFAIL is not cached.
    CHECK(f.lookup("broken.example.test", DnsType::a).status == DnsStatus::servfail);
    CHECK(dns.queries() > before);
    // A name that cannot exist is NXDOMAIN without asking anyone.
    const int now = dns.queries();
    CHECK(f.lookup("bad..name", DnsType::a).status == DnsStatus::nxdomain);
    CHECK(f.lookup("a b.example.test", DnsType::a).status == DnsStatus::nxdomain);
    CHECK(dns.queries() == now);
}

TEST_CASE("resolver: the cache honours TTLs; identical questions in flight go out once") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());

    CHECK(f.lookup("mx0.example.test", DnsType::a).status == DnsStatus::answer);
    CHECK(f.lookup("MX0.example.test.", DnsType::a).status == DnsStatus::answer);
    CHECK(dns.queries("mx0.example.test", "A") == 1);
    CHECK(f.resolver->stats().cache_hits == 1);

    CHECK(f.lookup("short.example.test", DnsType::a).ttl == 1);
    f.loop.run_for(1100);
    CHECK(f.lookup("short.example.test", DnsType::a).status == DnsStatus::answer);
    CHECK(dns.queries("short.example.test", "A") == 2);   // expired, asked again

    int answered = 0;
    std::vector<std::unique_ptr<io::DnsQuery>> qs;
    for (int i = 0; i < 5; ++i)
        qs.push_back(f.resolver->query("mx1.example.test", DnsType::mx, 3000, [&](const DnsResult& r) {
            CHECK(r.status == DnsStatus::nodata);
            ++answered;
        }));
    REQUIRE(f.loop.run_until([&] { return answered == 5; }));
    CHECK(dns.queries("mx1.example.test", "MX") == 1);
    CHECK(f.resolver->stats().coalesced == 4);
}

TEST_CASE("resolver: a destroyed handle never calls back; callbacks never run inside query()") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address());
    bool called = false;
    {
        auto q = f.resolver->query("mx0.example.test", DnsType::a, 3000, [&](const DnsResult&) { called = true; });
    }
    // Cached later by a second lookup: the first caller still never hears of it.
    CHECK(f.lookup("mx0.example.test", DnsType::a).status == DnsStatus::answer);
    f.loop.run_for(50);
    CHECK_FALSE(called);

    bool inside = true, got = false;
    auto q = f.resolver->query("mx0.example.test", DnsType::a, 3000, [&](const DnsResult&) { got = !inside; });
    inside = false;
    REQUIRE(f.loop.run_until([&] { return got; }));   // a cache hit too arrives from the loop

    io::DnsScope scope(*f.resolver);
    bool scoped = false;
    {
        io::DnsScope gone(*f.resolver);
        gone.query("slow.example.test", DnsType::a, 3000, [&](const DnsResult&) { scoped = true; });
        CHECK(gone.pending() == 1);
    }
    scope.query("mx1.example.test", DnsType::a, 3000, [&](const DnsResult& r) { got = r.status == DnsStatus::answer; });
    got = false;
    REQUIRE(f.loop.run_until([&] { return got; }));
    CHECK(scope.pending() == 0);
    f.loop.run_for(100);
    CHECK_FALSE(scoped);
}

TEST_CASE("resolver: a slow answer gives timeout at the caller's deadline while others are served") {
    test::DnsTestServer dns(kZones);
    Fixture f(dns.address(), 1000, 5000, 1);   // c-ares would wait 5 s; the caller's budget is 300 ms
    std::optional<DnsResult> slow;
    std::uint64_t slow_at = 0;
    const std::uint64_t start = f.now();
    auto q = f.resolver->query("slow.example.test", DnsType::a, 300, [&](const DnsResult& r) {
        slow = r;
        slow_at = f.now();
    });
    // Meanwhile, answers keep coming for other names.
    CHECK(f.lookup("mx0.example.test", DnsType::a).status == DnsStatus::answer);
    CHECK_FALSE(slow.has_value());
    REQUIRE(f.loop.run_until([&] { return slow.has_value(); }, 2000));
    CHECK(slow->status == DnsStatus::timeout);
    CHECK(slow_at - start >= 300);
    CHECK(slow_at - start < 600);
    CHECK(f.resolver->stats().deadlines == 1);
}

TEST_CASE("resolver: a dead server (silent, or nothing listening) never holds a caller past its deadline") {
    // A UDP socket that never reads: queries vanish, like a server that is down.
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    {
        Fixture f("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), 1000, 5000, 2);
        const std::uint64_t start = f.now();
        auto r = f.lookup("example.test", DnsType::mx, 400);
        CHECK(r.status == DnsStatus::timeout);
        CHECK(f.now() - start >= 400);
        CHECK(f.now() - start < 800);
    }
    {
        // c-ares' own timeout when the caller gives none: timeout too, not a hang.
        Fixture f("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), 1000, 200, 1);
        CHECK(f.lookup("example.test", DnsType::mx, 0).status == DnsStatus::timeout);
    }
    ::close(fd);
    {
        // Nothing listens (ICMP port unreachable): an answer (servfail) long before the deadline.
        Fixture f("127.0.0.1:" + std::to_string(test::free_port()), 1000, 500, 1);
        const std::uint64_t start = f.now();
        auto r = f.lookup("example.test", DnsType::mx, 3000);
        CHECK((r.status == DnsStatus::servfail || r.status == DnsStatus::timeout));
        CHECK(f.now() - start < 2000);
    }
}

TEST_CASE("resolver: the in-flight cap queues questions in order") {
    test::DnsTestServer dns(kZones + "!delay slow2.example.test. 0.5\n");
    Fixture f(dns.address(), 1, 3000, 1);
    std::vector<std::string> order;
    auto q1 = f.resolver->query("slow2.example.test", DnsType::a, 3000, [&](const DnsResult&) { order.push_back("slow2"); });
    auto q2 = f.resolver->query("mx0.example.test", DnsType::a, 3000, [&](const DnsResult&) { order.push_back("mx0"); });
    CHECK(f.resolver->in_flight() == 1);
    REQUIRE(f.loop.run_until([&] { return order.size() == 2; }));
    CHECK(order == std::vector<std::string>{"slow2", "mx0"});
    CHECK(f.resolver->in_flight() == 0);
}

TEST_CASE("resolver: servers must be IP or IP:port") {
    TestLoop loop;
    std::string error;
    io::ResolverOptions o;
    o.servers = {"dns.example.test"};
    CHECK_FALSE(io::Resolver::create(loop.get(), o, error));
    CHECK(error.find("dns.example.test") != std::string::npos);
    CHECK(io::dns_server_item("127.0.0.1") == "127.0.0.1:53");
    CHECK(io::dns_server_item("127.0.0.1:5353") == "127.0.0.1:5353");
    CHECK(io::dns_server_item("::1") == "[::1]:53");
    CHECK(io::dns_server_item("[::1]:5353") == "[::1]:5353");
    CHECK_FALSE(io::dns_server_item("127.0.0.1:0"));
    CHECK_FALSE(io::dns_server_item("[::1]5353"));
}

}  // namespace ASMTPD_TEST_UNIT
