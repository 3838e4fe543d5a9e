// limit_test.cpp - tests plugins/limit.cpp on the embedded state store (a file in the test's
// directory): concurrency counted at connect and given back at disconnect, connection rate,
// recipients per connection (and for relay clients), Haraka's errors and unknown-command limits,
// their replies, and the fail mode's arguments.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {
int code(const std::optional<hooks::Verdict>& v) { return v && v->reply ? v->reply->code : 0; }
std::string esc(const std::optional<hooks::Verdict>& v) { return v && v->reply ? v->reply->esc : ""; }
}  // namespace

TEST_CASE("limit: concurrency counted at connect, given back at disconnect") {
    FakeContext ctx;
    ctx.conn.remote_ip = "192.0.2.7";
    PluginHarness p(ctx, "limit", {"concurrency", "2"});
    REQUIRE_FALSE(p.init_error);
    CHECK(result_name(p.call(hooks::Hook::Connect)) == std::string("DECLINED"));
    CHECK(ctx.notes_map["limit"] == "concurrency 1/2");
    CHECK(result_name(p.call(hooks::Hook::Connect)) == std::string("DECLINED"));
    auto v = p.call(hooks::Hook::Connect);
    CHECK(result_name(v) == std::string("DENYSOFT_DISCONNECT"));
    CHECK(code(v) == 421);
    CHECK(esc(v) == "4.7.0");
    CHECK(test::text_of(v) == "Too many concurrent connections");
    // One session leaves: its count goes back, and the next one fits again.
    p.call(hooks::Hook::Disconnect);
    CHECK(ctx.notes_map.count("limit.concurrency") == 0);
    ctx.run();
    ctx.notes_map["limit.concurrency"] = "limit:concurrency:192.0.2.7";
    p.call(hooks::Hook::Disconnect);
    ctx.run();
    CHECK(result_name(p.call(hooks::Hook::Connect)) == std::string("DECLINED"));
    CHECK(ctx.notes_map["limit"] == "concurrency 2/2");
}

TEST_CASE("limit: connection rate, 421 4.7.0") {
    FakeContext ctx;
    PluginHarness p(ctx, "limit", {"rate_conn", "2/1m"});
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(hooks::Hook::Disconnect) == 0);
    CHECK(result_name(p.call(hooks::Hook::Connect)) == std::string("DECLINED"));
    CHECK(result_name(p.call(hooks::Hook::Connect)) == std::string("DECLINED"));
    auto v = p.call(hooks::Hook::Connect);
    CHECK(code(v) == 421);
    CHECK(test::text_of(v) == "connection rate limit exceeded");
    CHECK(ctx.notes_map["limit"] == "rate_conn 3/2: fail");
}

TEST_CASE("limit: recipients per connection, relay clients' max_relaying, no store round trip") {
    FakeContext ctx;
    PluginHarness p(ctx, "limit", {"recipients", "1"});
    REQUIRE_FALSE(p.init_error);
    CHECK(result_name(p.rcpt("a", "example.net")) == std::string("DECLINED"));
    auto v = p.rcpt("b", "example.net");
    CHECK(result_name(v) == std::string("DENYSOFT"));
    CHECK(code(v) == 451);
    CHECK(esc(v) == "4.7.1");
    CHECK(test::text_of(v) == "Too many recipient attempts");
}

TEST_CASE("limit: errors and unrecognized commands end the session") {
    FakeContext ctx;
    PluginHarness p(ctx, "limit", {"errors", "2", "unrecognized_commands", "1"});
    REQUIRE_FALSE(p.init_error);
    ctx.conn.errors = 2;
    CHECK(result_name(p.call(hooks::Hook::Mail, PluginHarness::address_args("a", "b.test"))) == std::string("DECLINED"));
    ctx.conn.errors = 3;
    auto v = p.call(hooks::Hook::Helo, hooks::HeloArgs{"x.test"});
    CHECK(result_name(v) == std::string("DENYSOFT_DISCONNECT"));
    CHECK(code(v) == 421);
    CHECK(test::text_of(v) == "Too many errors");
    CHECK(result_name(p.call(hooks::Hook::UnrecognizedCommand)) == std::string("DECLINED"));
    v = p.call(hooks::Hook::UnrecognizedCommand);
    CHECK(code(v) == 421);
    CHECK(test::text_of(v) == "Too many unrecognized commands");
}

TEST_CASE("limit: bad arguments") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        PluginHarness p(ctx, "limit", std::move(args));
        return p.init_error.value_or("");
    };
    CHECK(err({"rate_conn", "5/5x"}).find("rate_conn: expected LIMIT") == 0);
    CHECK(err({"on_error", "maybe"}) == "on_error: expected accept or defer, got 'maybe'");
    CHECK(err({"wait", "1"}).find("unknown argument 'wait'") == 0);
}

}  // namespace ASMTPD_TEST_UNIT
