// dso_threads_test.cpp - tests where and when plugins/dso/dso.cpp runs a library's calls: never
// on the loop thread for IndiMail, serialised across instances, the deadline and abandonment,
// a session that ends while a call waits, and the native ABI's inline, MAY_BLOCK and THREAD_SAFE
// modes.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/dso/dso_calls.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::dso_calls;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("dso IndiMail: calls never run on the loop thread") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    auto sink = h.start(hooks::Hook::Rcpt, addr("blocked"));
    CHECK_FALSE(sink->verdict);   // not answered inside the handler: it went to the pool
    REQUIRE(spin(ctx, [&] { return sink->verdict.has_value(); }));
    CHECK(wire(hooks::Hook::Rcpt, sink->verdict) == "553 no\r\n");
}

TEST_CASE("dso IndiMail: calls into one library are serialised, across instances too") {
    FakeContext ctx;
    PluginHarness a(ctx, "dso", {fixture("indimail_reject")});
    PluginHarness b(ctx, "dso", {fixture("indimail_reject")}, "dso:2");
    open_txn(ctx);
    std::vector<std::shared_ptr<test::VerdictSink>> sinks;
    for (int i = 0; i < 3; ++i) {
        sinks.push_back(a.start(hooks::Hook::Rcpt, addr("overlap")));
        sinks.push_back(b.start(hooks::Hook::Rcpt, addr("overlap")));
    }
    REQUIRE(spin(ctx, [&] {
        for (auto& s : sinks)
            if (!s->verdict) return false;
        return true;
    }));
    for (auto& s : sinks) CHECK(wire(hooks::Hook::Rcpt, s->verdict) == "553 max=1\r\n");
}

TEST_CASE("dso IndiMail: an overrunning call is abandoned at the deadline, then the plugin recovers") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject"), "timeout", "0.2"});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.plugin().timeout() > std::chrono::milliseconds(200));   // the chain's deadline is later
    open_txn(ctx);
    auto t0 = Clock::now();
    auto slow = h.start(hooks::Hook::Rcpt, addr("sleep"));
    auto queued = h.start(hooks::Hook::Rcpt, addr("blocked"));   // waits behind it
    REQUIRE(spin(ctx, [&] { return slow->verdict.has_value(); }));
    auto waited = Clock::now() - t0;
    CHECK(waited >= std::chrono::milliseconds(190));
    CHECK(waited < std::chrono::milliseconds(550));   // long before the plugin's 600 ms
    CHECK(std::string(result_name(slow->verdict)) == "DENYSOFT");
    CHECK(slow->verdict->text == "plugin timeout");
    // The queued call could never run: the only slot is held by the abandoned call.
    REQUIRE(spin(ctx, [&] { return queued->verdict.has_value(); }, 100));
    CHECK(std::string(result_name(queued->verdict)) == "DENYSOFT");
    CHECK(queued->verdict->text == "plugin busy");
    // New calls fail at once while the plugin is wedged.
    auto fast = h.start(hooks::Hook::Rcpt, addr("blocked"));
    REQUIRE(fast->verdict);
    CHECK(fast->verdict->text == "plugin busy");
    // The abandoned call returns (its "553 late" is never used), then the plugin works again.
    ctx.run();
    CHECK(slow->resolves == 1);
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("blocked"))) == "553 no\r\n");
    std::string log = ctx.log_text();
    CHECK(log.find("abandoned") != std::string::npos);
    CHECK(log.find("returned after") != std::string::npos);
    CHECK(log.find("553 late") == std::string::npos);
}

TEST_CASE("dso IndiMail: a session that ends while its call waits gets nothing applied") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    auto sink = h.start(hooks::Hook::Rcpt, addr("blocked"));
    ctx.end_session();
    ctx.run();
    // The call was resolved (so nothing hangs) but the session is gone; no verdict of the plugin.
    REQUIRE(sink->verdict);
    CHECK(sink->verdict->result == hooks::Result::DenySoft);
}

TEST_CASE("dso native: without MAY_BLOCK hooks run inline and answer at once") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    REQUIRE_FALSE(h.init_error);
    open_txn(ctx);
    auto sink = h.start(hooks::Hook::Rcpt, addr("reject"));
    REQUIRE(sink->verdict);   // resolved inside the handler
    CHECK(std::string(result_name(sink->verdict)) == "DENY");
    CHECK(wire(hooks::Hook::Rcpt, sink->verdict) == "554 5.7.1 no such user\r\n");   // NULL: default esc
}

TEST_CASE("dso native: MAY_BLOCK hooks run on the pool; effects still apply after the call") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe"), "--", "may_block"});
    open_txn(ctx);
    auto sink = h.start(hooks::Hook::Rcpt, addr("prefix"));
    CHECK_FALSE(sink->verdict);
    CHECK(ctx.reply_prefix.empty());
    REQUIRE(spin(ctx, [&] { return sink->verdict.has_value(); }));
    CHECK(ctx.reply_prefix == std::vector<std::string>{"250-note one"});
}

TEST_CASE("dso native: an abandoned MAY_BLOCK call changes nothing when it returns") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe"), "timeout", "0.15", "--", "may_block"});
    ctx.txn.emplace();
    auto sink = h.start(hooks::Hook::Mail, addr("sleep"));
    REQUIRE(spin(ctx, [&] { return sink->verdict.has_value(); }, 500));
    CHECK(sink->verdict->text == "plugin timeout");
    ctx.run();   // the call returns after 600 ms with set_env and a prefix line
    CHECK(ctx.conn.env.count("NATIVE_LATE") == 0);
    CHECK(ctx.reply_prefix.empty());
    CHECK(sink->resolves == 1);
}

TEST_CASE("dso native: without THREAD_SAFE calls are serialised; with it, up to `concurrency`") {
    auto run = [](std::vector<std::string> args, int calls) {
        FakeContext ctx;
        PluginHarness h(ctx, "dso", std::move(args));
        REQUIRE_FALSE(h.init_error);
        ctx.txn.emplace();
        std::vector<std::shared_ptr<test::VerdictSink>> sinks;
        for (int i = 0; i < calls; ++i) sinks.push_back(h.start(hooks::Hook::Mail, addr("conc")));
        REQUIRE(spin(ctx, [&] {
            for (auto& s : sinks)
                if (!s->verdict) return false;
            return true;
        }));
        int most = 0;
        for (auto& s : sinks) {
            std::string w = wire(hooks::Hook::Mail, s->verdict);
            REQUIRE(w.rfind("550 max=", 0) == 0);
            most = std::max(most, std::stoi(w.substr(8)));
        }
        return most;
    };
    CHECK(run({fixture("native_probe"), "--", "may_block"}, 4) == 1);
    int two = run({fixture("native_probe"), "concurrency", "2", "--", "may_block", "thread_safe"}, 6);
    CHECK(two == 2);   // never 3 (the gate), and the pool did run two at once
    CHECK(run({fixture("native_probe"), "concurrency", "1", "--", "may_block", "thread_safe"}, 3) == 1);
}

}  // namespace ASMTPD_TEST_UNIT
