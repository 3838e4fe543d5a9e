// tarpit_test.cpp - tests plugins/tarpit.cpp: the configured and per-hook delays, Haraka's
// `tarpit` note, the karma_score note (negative: per point, positive: none), max_delay, the
// hooks it registers and bad arguments. Delays are measured loosely (at least the delay, less the loop clock's slack).
#include <doctest/doctest.h>

#include <chrono>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

// The loop's timers count from its cached clock, which may be a few milliseconds old.
constexpr long long kSlack = 20;

// Milliseconds the hook took to answer DECLINED.
long long timed(PluginHarness& p, hooks::Hook h) {
    auto t0 = std::chrono::steady_clock::now();
    auto v = p.call(h);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CHECK(result_name(v) == std::string("DECLINED"));
    return ms;
}

}  // namespace

TEST_CASE("tarpit: delay, delay_HOOK and the hooks it registers") {
    FakeContext ctx;
    PluginHarness p(ctx, "tarpit", {"delay", "0.2", "delay_connect", "0.3", "delay_rcpt", "0"});
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(hooks::Hook::Connect) == 1);
    CHECK(p.handlers(hooks::Hook::Quit) == 1);
    CHECK(p.handlers(hooks::Hook::ResetTransaction) == 0);
    CHECK(timed(p, hooks::Hook::Connect) + kSlack >= 300);
    CHECK(timed(p, hooks::Hook::Helo) + kSlack >= 200);
    CHECK(timed(p, hooks::Hook::Rcpt) < 150);   // delay_rcpt 0: at once
    CHECK(ctx.log_text().find("tarpit: delaying the connect reply by 300 ms (configured)") != std::string::npos);

    PluginHarness only(ctx, "tarpit", {"delay", "0.1", "hooks_to_delay", "mail,data_post"});
    REQUIRE_FALSE(only.init_error);
    CHECK(only.handlers(hooks::Hook::Mail) == 1);
    CHECK(only.handlers(hooks::Hook::DataPost) == 1);
    CHECK(only.handlers(hooks::Hook::Connect) == 0);
}

TEST_CASE("tarpit: the tarpit note, then karma_score, capped by max_delay") {
    FakeContext ctx;
    PluginHarness p(ctx, "tarpit", {"delay", "0.5", "karma_delay", "0.1", "max_delay", "0.35"});
    REQUIRE_FALSE(p.init_error);
    ctx.notes_map["karma_score"] = "5";                 // good karma: no delay
    CHECK(timed(p, hooks::Hook::Helo) < 150);
    ctx.notes_map["karma_score"] = "-2";                // 2 points: 200 ms
    auto ms = timed(p, hooks::Hook::Helo);
    CHECK(ms + kSlack >= 200);
    CHECK(ms < 450);
    ctx.notes_map["karma_score"] = "-20";               // capped at max_delay
    ms = timed(p, hooks::Hook::Helo);
    CHECK(ms + kSlack >= 350);
    CHECK(ms < 600);
    ctx.notes_map["karma_score"] = "0";                 // neutral: the configured delay (capped)
    CHECK(timed(p, hooks::Hook::Helo) + kSlack >= 350);
    ctx.notes_map["karma_score"] = "-x";                // not a number: ignored
    CHECK(timed(p, hooks::Hook::Helo) + kSlack >= 350);
    ctx.notes_map["tarpit"] = "0";                      // another plugin's note wins
    CHECK(timed(p, hooks::Hook::Helo) < 150);
    CHECK(ctx.log_text().find("(karma -2)") != std::string::npos);

    PluginHarness no_karma(ctx, "tarpit", {"karma", "0"});
    REQUIRE_FALSE(no_karma.init_error);
    ctx.notes_map.erase("tarpit");
    ctx.notes_map["karma_score"] = "-5";
    CHECK(timed(no_karma, hooks::Hook::Helo) < 150);
}

TEST_CASE("tarpit: bad arguments") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        PluginHarness p(ctx, "tarpit", std::move(args));
        return p.init_error.value_or("");
    };
    CHECK(err({"delay"}).find("has no value") != std::string::npos);
    CHECK(err({"delay", "x"}) == "delay: expected seconds, got 'x'");
    CHECK(err({"delay_reset_transaction", "1"}).find("is not a hook whose reply can wait") != std::string::npos);
    CHECK(err({"hooks_to_delay", "connect,nothing"}) == "hooks_to_delay: 'nothing' is not a hook whose reply can wait");
    CHECK(err({"karma", "2"}) == "karma: expected 0 or 1, got '2'");
    CHECK(err({"wait", "1"}).find("unknown argument 'wait'") == 0);
}

}  // namespace ASMTPD_TEST_UNIT
