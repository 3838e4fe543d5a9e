// relay_test.cpp - tests plugins/relay.cpp: relayclients forms, norelayclients, env, IPv6, only.
#include <doctest/doctest.h>

#include "plugins/common/relay_client.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

// Connects from ip and reports whether the plugin made it a relay client.
bool relays(FakeContext& ctx, PluginHarness& p, const std::string& ip) {
    ctx.conn.remote_ip = ip;
    ctx.conn.relay_client = false;
    auto v = p.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(v)) == "DECLINED");
    return ctx.conn.relay_client;
}

}  // namespace

TEST_CASE("relay: exact IPs, CIDRs and qmail prefixes") {
    FakeContext ctx;
    ctx.write_config("relayclients", "127.0.0.1\n10.0.0.0/8\n192.168.\n172.16.5.\n");
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK(relays(ctx, p, "127.0.0.1"));
    CHECK_FALSE(relays(ctx, p, "127.0.0.2"));
    CHECK(relays(ctx, p, "10.255.1.2"));
    CHECK_FALSE(relays(ctx, p, "11.0.0.1"));
    CHECK(relays(ctx, p, "192.168.44.5"));
    CHECK_FALSE(relays(ctx, p, "192.169.0.1"));
    CHECK(relays(ctx, p, "172.16.5.200"));
    CHECK_FALSE(relays(ctx, p, "172.16.50.1"));   // a string prefix would wrongly match this
    CHECK_FALSE(relays(ctx, p, "garbage"));
    CHECK_FALSE(relays(ctx, p, ""));
}

TEST_CASE("relay: the prefix 10. does not match 100.x") {
    FakeContext ctx;
    ctx.write_config("relayclients", "10.\n");
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK(relays(ctx, p, "10.1.2.3"));
    CHECK_FALSE(relays(ctx, p, "100.1.2.3"));
}

TEST_CASE("relay: IPv6 entries and IPv4-mapped peers") {
    FakeContext ctx;
    ctx.write_config("relayclients", "::1\n2001:db8::/32\nfd00:1:\n192.0.2.0/24\n");
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK(relays(ctx, p, "::1"));
    CHECK(relays(ctx, p, "2001:db8:ffff::25"));
    CHECK_FALSE(relays(ctx, p, "2001:db9::1"));
    CHECK(relays(ctx, p, "fd00:1::7"));
    CHECK(relays(ctx, p, "fd00:1:2:3::7"));
    CHECK_FALSE(relays(ctx, p, "fd00:2::7"));
    CHECK(relays(ctx, p, "::ffff:192.0.2.44"));   // dual-stack listener (qpsmtpd #315)
    CHECK_FALSE(relays(ctx, p, "::ffff:198.51.100.1"));
}

TEST_CASE("relay: norelayclients wins over relayclients and RELAYCLIENT") {
    FakeContext ctx;
    ctx.write_config("relayclients", "10.0.0.0/8\n");
    ctx.write_config("norelayclients", "10.9.9.9\n10.1.\n");
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK(relays(ctx, p, "10.2.3.4"));
    CHECK_FALSE(relays(ctx, p, "10.9.9.9"));
    CHECK_FALSE(relays(ctx, p, "10.1.200.3"));
    ctx.conn.env["RELAYCLIENT"] = "";
    CHECK(relays(ctx, p, "203.0.113.5"));        // env alone makes a relay client
    CHECK_FALSE(relays(ctx, p, "10.9.9.9"));     // but not on the deny list

    // A relay flag set earlier (e.g. by another plugin) survives unless denied.
    ctx.conn.env.clear();
    ctx.conn.remote_ip = "203.0.113.5";
    ctx.conn.relay_client = true;
    p.call(hooks::Hook::Connect);
    CHECK(ctx.conn.relay_client);
    ctx.conn.remote_ip = "10.9.9.9";
    p.call(hooks::Hook::Connect);
    CHECK_FALSE(ctx.conn.relay_client);
}

TEST_CASE("relay: no files, no relaying; no rcpt hook without only") {
    FakeContext ctx;
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK_FALSE(relays(ctx, p, "127.0.0.1"));
    CHECK(p.handlers(hooks::Hook::Rcpt) == 0);
}

TEST_CASE("relay only: non-relay clients are denied at rcpt") {
    FakeContext ctx;
    ctx.write_config("relayclients", "127.0.0.1\n");
    PluginHarness p(ctx, "relay", {"only"});
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::Rcpt) == 1);
    ctx.conn.remote_ip = "198.51.100.7";
    p.call(hooks::Hook::Connect);
    auto v = p.rcpt("a", "example.com");
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(test::text_of(v) == "Relaying denied");
    ctx.conn.remote_ip = "127.0.0.1";
    p.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(p.rcpt("a", "example.com"))) == "DECLINED");
}

TEST_CASE("relay: malformed entries and arguments fail init") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "relay", {"sometimes"}).init_error);
    ctx.write_config("relayclients", "mail.example.com\n");
    auto e1 = PluginHarness(ctx, "relay").init_error;
    REQUIRE(e1);
    CHECK(e1->find("mail.example.com") != std::string::npos);
    for (const char* bad : {"10.0.0.0/33", "256.", "1.2.3.4.", "10..", "1.2.3.4/", "::1/129", "2001:zz:"}) {
        CAPTURE(bad);
        ctx.write_config("relayclients", "127.0.0.1\n");
        ctx.write_config("norelayclients", std::string(bad) + "\n");
        CHECK(PluginHarness(ctx, "relay").init_error);
    }
}

TEST_CASE("relay: RELAYCLIENT's value at connect is noted as qmail's recipient suffix") {
    FakeContext ctx;
    ctx.conn.env["RELAYCLIENT"] = "@gw.example";
    PluginHarness p(ctx, "relay");
    REQUIRE_FALSE(p.init_error);
    CHECK(relays(ctx, p, "192.0.2.1"));
    CHECK(ctx.notes_map.at(std::string(plugins::kRelayClientNote)) == "=@gw.example");
    ctx.conn.env["RELAYCLIENT"] = "changed";   // later changes do not move the suffix
    CHECK(plugins::relay_suffix(ctx.conn, ctx.notes_map) == std::string("@gw.example"));

    // Relaying by relayclients alone: no suffix; not relaying: none at all.
    FakeContext ctx2;
    ctx2.write_config("relayclients", "192.0.2.1\n");
    PluginHarness q(ctx2, "relay");
    CHECK(relays(ctx2, q, "192.0.2.1"));
    CHECK(ctx2.notes_map.at(std::string(plugins::kRelayClientNote)) == "-");
    CHECK(plugins::relay_suffix(ctx2.conn, ctx2.notes_map) == std::string());
    FakeContext ctx3;
    ctx3.conn.env["RELAYCLIENT"] = "-x";
    ctx3.write_config("norelayclients", "192.0.2.9\n");
    PluginHarness r(ctx3, "relay");
    CHECK_FALSE(relays(ctx3, r, "192.0.2.9"));
    CHECK_FALSE(plugins::relay_suffix(ctx3.conn, ctx3.notes_map));
}

}  // namespace ASMTPD_TEST_UNIT
