// hosts_allow_test.cpp - tests plugins/hosts_allow.cpp: per-IP count and the rules file.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

std::optional<hooks::Verdict> connect_from(FakeContext& ctx, PluginHarness& p, const std::string& ip,
                                           std::size_t open = 1) {
    ctx.conn.remote_ip = ip;
    ctx.conn.connections_from_ip = open;
    return p.call(hooks::Hook::PreConnection);
}

}  // namespace

TEST_CASE("hosts_allow: the per-IP limit defaults to the server setting") {
    FakeContext ctx;
    ctx.facts.max_connections_per_ip = 3;
    PluginHarness p(ctx, "hosts_allow");
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::PreConnection) == 1);
    CHECK(std::string(result_name(connect_from(ctx, p, "192.0.2.1", 1))) == "DECLINED");
    CHECK(std::string(result_name(connect_from(ctx, p, "192.0.2.1", 3))) == "DECLINED");
    auto v = connect_from(ctx, p, "192.0.2.1", 4);
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    CHECK(test::text_of(v) == "Too many connections from your IP");
}

TEST_CASE("hosts_allow: max argument, 0 is unlimited") {
    FakeContext ctx;
    ctx.facts.max_connections_per_ip = 3;
    PluginHarness one(ctx, "hosts_allow", {"max", "1"});
    REQUIRE_FALSE(one.init_error);
    CHECK(std::string(result_name(connect_from(ctx, one, "192.0.2.1", 1))) == "DECLINED");
    CHECK(std::string(result_name(connect_from(ctx, one, "192.0.2.1", 2))) == "DENYSOFT");

    PluginHarness unlimited(ctx, "hosts_allow", {"max", "0"});
    REQUIRE_FALSE(unlimited.init_error);
    CHECK(std::string(result_name(connect_from(ctx, unlimited, "192.0.2.1", 100000))) == "DECLINED");

    for (std::vector<std::string> bad : {std::vector<std::string>{"max"}, {"max", "-1"}, {"max", "x"},
                                         {"max", "1", "max", "2"}, {"maxx", "1"}, {"5"}}) {
        CHECK(PluginHarness(ctx, "hosts_allow", bad).init_error);
    }
}

TEST_CASE("hosts_allow: rules file, first match wins") {
    FakeContext ctx;
    ctx.write_config("hosts_allow",
                     "192.0.2.7 OK\n"
                     "192.0.2.0/24 DENY Your network is blocked\n"
                     "198.51.100.0/24 denysoft\n"
                     "203.0.113.5 DENY_DISCONNECT bye\n"
                     "203.0.113.6 DENYSOFT_DISCONNECT later\n"
                     "10. DECLINED\n"
                     "10.0.0.0/8 DENY never reached\n"
                     "2001:db8::/32 DENY v6 blocked\n");
    PluginHarness p(ctx, "hosts_allow", {"max", "2"});
    REQUIRE_FALSE(p.init_error);

    auto v = connect_from(ctx, p, "192.0.2.7", 50);     // OK skips the count
    CHECK(std::string(result_name(v)) == "OK");
    v = connect_from(ctx, p, "192.0.2.8");
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(test::text_of(v) == "Your network is blocked");
    v = connect_from(ctx, p, "198.51.100.9");
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    CHECK(test::text_of(v).empty());                               // the default 421 text applies
    CHECK(std::string(result_name(connect_from(ctx, p, "203.0.113.5"))) == "DENY_DISCONNECT");
    CHECK(std::string(result_name(connect_from(ctx, p, "203.0.113.6"))) == "DENYSOFT_DISCONNECT");
    // DECLINED stops the file lookup, but the count still applies.
    CHECK(std::string(result_name(connect_from(ctx, p, "10.1.1.1", 1))) == "DECLINED");
    CHECK(std::string(result_name(connect_from(ctx, p, "10.1.1.1", 3))) == "DENYSOFT");
    v = connect_from(ctx, p, "2001:db8::1");
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(test::text_of(v) == "v6 blocked");
    CHECK(std::string(result_name(connect_from(ctx, p, "::ffff:192.0.2.9"))) == "DENY");
    CHECK(std::string(result_name(connect_from(ctx, p, "203.0.113.200"))) == "DECLINED");
}

TEST_CASE("hosts_allow: bad lines fail init and name the line") {
    FakeContext ctx;
    for (const char* bad : {"192.0.2.1", "192.0.2.1 MAYBE", "example.com DENY", "192.0.2.0/40 DENY",
                            "192.0.2.1 DONE", "192.0.2.1 DENY_SOFT x"}) {
        CAPTURE(bad);
        ctx.write_config("hosts_allow", std::string("127.0.0.1 OK\n") + bad + "\n");
        auto err = PluginHarness(ctx, "hosts_allow").init_error;
        REQUIRE(err);
        CHECK(err->find(bad) != std::string::npos);
    }
}

}  // namespace ASMTPD_TEST_UNIT
