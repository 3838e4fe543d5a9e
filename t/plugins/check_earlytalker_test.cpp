// check_earlytalker_test.cpp - tests plugins/check_earlytalker.cpp on a real loop and timers.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

std::uint64_t now_ms(FakeContext& ctx) {
    uv_update_time(ctx.loop());
    return uv_now(ctx.loop());
}

}  // namespace

TEST_CASE("check_earlytalker: input during the wait is denied, after the timer fires") {
    FakeContext ctx;
    PluginHarness p(ctx, "check_earlytalker", {"wait", "0.2"});
    REQUIRE_FALSE(p.init_error);
    ctx.after(50, [&] { ctx.unread = 6; });   // "EHLO\r\n" before the greeting
    auto t0 = now_ms(ctx);
    auto sink = p.start(hooks::Hook::Connect);
    CHECK_FALSE(sink->verdict);               // nothing decided synchronously
    CHECK(ctx.notes_map.count("earlytalker") == 0);
    ctx.run();
    auto elapsed = now_ms(ctx) - t0;
    CHECK(elapsed >= 150);
    REQUIRE(sink->verdict);
    CHECK(std::string(result_name(sink->verdict)) == "DENY");
    CHECK(sink->verdict->text == "Talking before the greeting");
    CHECK(ctx.notes_map["earlytalker"] == "1");
    CHECK(sink->resolves == 1);
}

TEST_CASE("check_earlytalker: a patient client is declined") {
    FakeContext ctx;
    PluginHarness p(ctx, "earlytalker", {"wait", "0.05"});
    REQUIRE_FALSE(p.init_error);
    ctx.after(200, [&] { ctx.unread = 6; });  // speaks only after the greeting would be sent
    auto v = p.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(v)) == "DECLINED");
    CHECK(ctx.notes_map.count("earlytalker") == 0);
}

TEST_CASE("check_earlytalker: the default wait is one second") {
    FakeContext ctx;
    PluginHarness p(ctx, "check_earlytalker");
    REQUIRE_FALSE(p.init_error);
    auto t0 = now_ms(ctx);
    CHECK(std::string(result_name(p.call(hooks::Hook::Connect))) == "DECLINED");
    CHECK(now_ms(ctx) - t0 >= 950);
}

TEST_CASE("check_earlytalker: action log notes the talker but lets it through") {
    FakeContext ctx;
    PluginHarness p(ctx, "check_earlytalker", {"action", "log", "wait", "0"});
    REQUIRE_FALSE(p.init_error);
    ctx.unread = 1;
    CHECK(std::string(result_name(p.call(hooks::Hook::Connect))) == "DECLINED");
    CHECK(ctx.notes_map["earlytalker"] == "1");
    CHECK(ctx.log_text().find("talked before the greeting") != std::string::npos);
}

TEST_CASE("check_earlytalker: a session that ends during the wait gets no decision") {
    FakeContext ctx;
    PluginHarness p(ctx, "check_earlytalker", {"wait", "0.1"});
    ctx.unread = 4;
    auto sink = p.start(hooks::Hook::Connect);
    ctx.end_session();
    ctx.run();
    // The timer never fired: no deny, no note. (The abandoned HookCall may report the safe
    // default to a sink that, in a real session, would be gone.)
    CHECK(ctx.notes_map.count("earlytalker") == 0);
    if (sink->verdict) CHECK(sink->verdict->text != "Talking before the greeting");
}

TEST_CASE("check_earlytalker: bad arguments") {
    FakeContext ctx;
    ctx.facts.plugin_timeout = std::chrono::milliseconds(5000);
    for (std::vector<std::string> bad :
         {std::vector<std::string>{"wait"}, {"wait", "x"}, {"wait", "-1"}, {"wait", "1."}, {"wait", ".5.5"},
          {"wait", "1e3"}, {"action", "drop"}, {"wait", "5"}, {"wait", "100000"}, {"defer-reject", "1"}, {"2"}}) {
        std::string joined;
        for (const auto& w : bad) joined += w + " ";
        CAPTURE(joined);
        CHECK(PluginHarness(ctx, "check_earlytalker", bad).init_error);
    }
    CHECK_FALSE(PluginHarness(ctx, "check_earlytalker", {"wait", ".5"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "check_earlytalker", {"wait", "4.999"}).init_error);
}

}  // namespace ASMTPD_TEST_UNIT
