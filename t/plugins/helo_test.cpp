// helo_test.cpp - tests plugins/helo.cpp without DNS: arguments, the lenient policy through
// the plugin, reject 0 / naughty, immunity and the X-HELO header.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {
std::optional<hooks::Verdict> ehlo(PluginHarness& p, const std::string& host) {
    return p.call(hooks::Hook::Ehlo, hooks::HeloArgs{host});
}
}  // namespace

TEST_CASE("helo: arguments") {
    FakeContext ctx;
    CHECK_FALSE(PluginHarness(ctx, "helo", {"policy", "strict", "reject", "naughty", "timeout", "2"}).init_error);
    CHECK(PluginHarness(ctx, "helo", {"policy", "paranoid"}).init_error);
    CHECK(PluginHarness(ctx, "helo", {"reject", "yes"}).init_error);
    CHECK(PluginHarness(ctx, "helo", {"timeout", "soon"}).init_error);
    ctx.write_config("badhelo", "(broken\n");
    CHECK(PluginHarness(ctx, "helo").init_error);
}

TEST_CASE("helo: lenient refuses with DENY_DISCONNECT by default, lets good names through") {
    FakeContext ctx;
    ctx.conn.remote_ip = "192.0.2.7";
    ctx.write_config("badhelo", "yahoo.com\n");
    PluginHarness p(ctx, "helo");
    REQUIRE_FALSE(p.init_error);
    auto v = ehlo(p, "yahoo.com");
    CHECK(std::string(result_name(v)) == "DENY_DISCONNECT");
    CHECK(test::text_of(v) == "I do not believe you are yahoo.com.");
    CHECK(std::string(result_name(ehlo(p, "[192.0.2.8]"))) == "DENY_DISCONNECT");
    CHECK(std::string(result_name(ehlo(p, "[192.0.2.7]"))) == "DECLINED");
    CHECK(std::string(result_name(ehlo(p, "mail.example.net"))) == "DECLINED");
    CHECK(std::string(result_name(ehlo(p, ""))) == "DECLINED");
    ctx.conn.relay_client = true;   // immune
    CHECK(std::string(result_name(ehlo(p, "yahoo.com"))) == "DECLINED");
}

TEST_CASE("helo: reject naughty notes the failure and goes on") {
    FakeContext ctx;
    ctx.conn.remote_ip = "192.0.2.7";
    PluginHarness p(ctx, "helo", {"reject", "naughty"});
    CHECK(std::string(result_name(ehlo(p, "localhost"))) == "DECLINED");
    CHECK(ctx.notes_map["naughty"] == "(helo) You are not localhost");
    CHECK(ctx.notes_map["naughty_reject_type"] == "DENY_DISCONNECT");
}

TEST_CASE("helo: data_post adds X-HELO") {
    FakeContext ctx;
    ctx.conn.helo_host = "mail.example.net";
    ctx.txn.emplace();
    PluginHarness p(ctx, "helo");
    CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-HELO: mail.example.net"});
}

}  // namespace ASMTPD_TEST_UNIT
