// whitelist_test.cpp - tests plugins/whitelist.cpp: each list, its note, and the immunity it gives.
#include <doctest/doctest.h>

#include "plugins/common/immunity.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {
std::string connect_from(FakeContext& ctx, PluginHarness& p, const std::string& ip) {
    ctx.conn.remote_ip = ip;
    ctx.notes_map.clear();
    return result_name(p.call(hooks::Hook::Connect));
}
}  // namespace

TEST_CASE("whitelist: whitelisthosts sets whitelisthost and makes the session immune") {
    FakeContext ctx;
    ctx.write_config("whitelisthosts", "192.0.2.7\n10.0.0.0/8\n172.16.5.\n2001:db8::/32\n");
    PluginHarness p(ctx, "whitelist");
    REQUIRE_FALSE(p.init_error);
    CHECK(connect_from(ctx, p, "192.0.2.7") == "OK");
    CHECK(ctx.notes_map["whitelisthost"] == "1");
    CHECK(plugins::immunity(ctx) == "whitelisted host");
    CHECK(connect_from(ctx, p, "10.9.8.7") == "OK");
    CHECK(connect_from(ctx, p, "172.16.5.9") == "OK");
    CHECK(connect_from(ctx, p, "::ffff:172.16.5.9") == "OK");
    CHECK(connect_from(ctx, p, "2001:db8::25") == "OK");
    CHECK(connect_from(ctx, p, "172.16.50.1") == "DECLINED");
    CHECK_FALSE(plugins::is_immune(ctx));
    CHECK(connect_from(ctx, p, "192.0.2.70") == "DECLINED");
    CHECK_FALSE(ctx.connection().relay_client);   // whitelisting never grants relaying
}

TEST_CASE("whitelist: WHITELISTCLIENT from tcp.env") {
    FakeContext ctx;
    PluginHarness p(ctx, "whitelist");
    ctx.conn.env["WHITELISTCLIENT"] = "";
    CHECK(connect_from(ctx, p, "192.0.2.99") == "OK");
    CHECK(ctx.notes_map["whitelistclient"] == "1");
}

TEST_CASE("whitelist: a malformed whitelisthosts entry fails start-up") {
    FakeContext ctx;
    ctx.write_config("whitelisthosts", "host.example\n");
    PluginHarness p(ctx, "whitelist");
    REQUIRE(p.init_error);
    CHECK(p.init_error->find("host.example") != std::string::npos);
    PluginHarness q(ctx, "whitelist", {"extra"});
    CHECK(q.init_error);
}

TEST_CASE("whitelist: whitelisthelo answers OK at helo/ehlo but gives no immunity") {
    FakeContext ctx;
    ctx.write_config("whitelisthelo", "Trusted.Example\n");
    PluginHarness p(ctx, "whitelist");
    hooks::HeloArgs a{"trusted.EXAMPLE"};
    CHECK(std::string(result_name(p.call(hooks::Hook::Ehlo, a))) == "OK");
    CHECK(ctx.notes_map["whitelisthelo"] == "1");
    CHECK_FALSE(plugins::is_immune(ctx));
    a.host = "other.example";
    CHECK(std::string(result_name(p.call(hooks::Hook::Helo, a))) == "DECLINED");
}

TEST_CASE("whitelist: senders by address or domain, in the transaction") {
    FakeContext ctx;
    ctx.write_config("whitelistsenders", "Boss@Corp.Example\npartner.example\n");
    PluginHarness p(ctx, "whitelist");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("boss", "corp.example"))) == "OK");
    CHECK(plugins::immunity(ctx) == "whitelisted sender");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("other", "corp.example"))) == "DECLINED");
    CHECK_FALSE(plugins::is_immune(ctx));
    CHECK(std::string(result_name(p.mail("anyone", "PARTNER.example"))) == "OK");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("", ""))) == "DECLINED");   // the null sender
    CHECK(std::string(result_name(p.mail("x", "sub.partner.example"))) == "DECLINED");
}

TEST_CASE("whitelist: recipients are accepted and counted") {
    FakeContext ctx;
    ctx.write_config("whitelistrcpt", "postmaster@example.org\nlists.example.org\n");
    PluginHarness p(ctx, "whitelist");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.rcpt("postmaster", "example.org"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("any", "Lists.Example.org"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("user", "example.org"))) == "DECLINED");
    CHECK(ctx.txn->notes["whitelistrcpt"] == "2");
}

}  // namespace ASMTPD_TEST_UNIT
