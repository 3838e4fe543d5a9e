// dso_native_test.cpp - tests plugins/dso/dso.cpp with dso_native on the native_probe fixture:
// verdicts, connect and helo hooks, the host API (its effects and its refusals), session facts
// and counters, DISABLE_PLUGINS, on_data_start and on_data_end.
#include <doctest/doctest.h>

#include <cstdint>
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

TEST_CASE("dso native: verdicts map onto results like qmail-spp's commands") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    open_txn(ctx);
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("verbatim"))) == "553 exactly this\r\n");
    auto soft = h.call(hooks::Hook::Rcpt, addr("soft"));
    CHECK(std::string(result_name(soft)) == "DENYSOFT");
    CHECK(wire(hooks::Hook::Rcpt, soft) == "451-4.7.1 later\r\n451 4.7.1 really\r\n");
    auto close = h.call(hooks::Hook::Rcpt, addr("close"));
    CHECK(std::string(result_name(close)) == "DENYSOFT_DISCONNECT");
    CHECK(hooks::dispose(hooks::Hook::Rcpt, *close).action == hooks::Action::RespondClose);
    CHECK(wire(hooks::Hook::Rcpt, close) == "421 4.7.0 bye\r\n");
    CHECK(std::string(result_name(h.call(hooks::Hook::Rcpt, addr("skip")))) == "OK");
    CHECK(std::string(result_name(h.call(hooks::Hook::Rcpt, addr("plain")))) == "DECLINED");
    // REJECT_CLOSE without set_reply: the hook's default refusal, then close.
    ctx.txn.emplace();
    auto dflt = h.call(hooks::Hook::Mail, addr("closeit"));
    CHECK(std::string(result_name(dflt)) == "DENY_DISCONNECT");
    CHECK(wire(hooks::Hook::Mail, dflt) == "550 5.7.1 Sender denied\r\n");
    // A value that is no verdict: temporary failure, logged.
    auto bad = h.call(hooks::Hook::Mail, addr("bad"));
    CHECK(std::string(result_name(bad)) == "DENYSOFT");
    CHECK(ctx.log_text().find("returned 42, which is no verdict") != std::string::npos);
}

TEST_CASE("dso native: connect and helo hooks") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    CHECK(std::string(result_name(h.call(hooks::Hook::Connect))) == "DECLINED");
    CHECK(ctx.conn.env["NATIVE_SEEN"] == "192.0.2.10");
    CHECK(ctx.log_text().find("connect from 192.0.2.10") != std::string::npos);
    ctx.conn.env["NATIVE_CONNECT_REJECT"] = "1";
    auto refused = h.call(hooks::Hook::Connect);
    REQUIRE(refused);
    CHECK(refused->keep_session);   // as spp's [connection] E: the reply replaces the greeting
    auto d = hooks::dispose(hooks::Hook::Connect, *refused);
    CHECK(d.action == hooks::Action::Respond);
    CHECK(d.reply.wire(true) == "554 go away\r\n");

    CHECK(wire(hooks::Hook::Helo, h.call(hooks::Hook::Helo, helo("reject.test"))) == "550 5.7.1 bad helo\r\n");
    auto drop = h.call(hooks::Hook::Ehlo, helo("drop.test"));
    REQUIRE(drop);
    CHECK(hooks::dispose(hooks::Hook::Ehlo, *drop).action == hooks::Action::SilentClose);
    CHECK(std::string(result_name(h.call(hooks::Hook::Ehlo, helo("fine.test")))) == "DECLINED");
}

TEST_CASE("dso native: host API effects reach the session after the call") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    ctx.txn.emplace();
    auto changed = h.call(hooks::Hook::Mail, addr("change"));
    CHECK(std::string(result_name(changed)) == "DECLINED");
    REQUIRE(changed->address);
    CHECK(changed->address->format() == "<changed@example.test>");
    CHECK(std::string(result_name(h.call(hooks::Hook::Mail, addr("header")))) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Native: mail"});
    ctx.conn.env["UNSETME"] = "x";
    h.call(hooks::Hook::Mail, addr("env", "e.test"));
    CHECK(ctx.conn.env["NATIVE_FROM"] == "env@e.test");
    CHECK(ctx.conn.env.count("UNSETME") == 0);

    open_txn(ctx);
    auto moved = h.call(hooks::Hook::Rcpt, addr("change"));
    REQUIRE(moved);
    REQUIRE(moved->address);
    CHECK(moved->address->format() == "<new@example.test>");
    auto refused = h.call(hooks::Hook::Rcpt, addr("changereject"));
    CHECK(std::string(result_name(refused)) == "DENY");
    CHECK_FALSE(refused->address);   // a refused command keeps no address change
    h.call(hooks::Hook::Rcpt, addr("prefix"));
    CHECK(ctx.reply_prefix == std::vector<std::string>{"250-note one"});
}

TEST_CASE("dso native: the host API refuses what could break a reply, a header or the environment") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    ctx.txn.emplace();
    auto v = h.call(hooks::Hook::Mail, addr("codes"));
    // PATH and LD_*: E_DENIED (-4); the rest: E_INVAL (-1).
    CHECK(wire(hooks::Hook::Mail, v) == "550 codes=-4,-4,-1,-1,-1,-1,-1,-1,-1\r\n");
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.conn.env.count("PATH") == 0);
    CHECK(ctx.reply_prefix.empty());
}

TEST_CASE("dso native: session facts, counters and the client environment") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    ctx.conn.helo_host = "client.test";
    ctx.conn.hello = proto::Hello::Ehlo;
    ctx.conn.env["FOO"] = "bar";
    open_txn(ctx, "s@example.test", {"first@example.test"});
    auto one = h.call(hooks::Hook::Rcpt, addr("info"));
    auto two = h.call(hooks::Hook::Rcpt, addr("info", "far.test"));
    std::string w1 = wire(hooks::Hook::Rcpt, one), w2 = wire(hooks::Hook::Rcpt, two);
    CHECK(w1 == "550 hook=rcpt helo=client.test sender=<s@example.test> rcpt=<info@example.test> count=1 all=1 "
                "flags=8 ip=192.0.2.10:40000 local=192.0.2.1:25 server=mx.example.org FOO=bar "
                "recipients=first@example.test\r\n");
    // example.test is not in rcpthosts here (FakeContext has none): no RCPTHOSTS_OK either way;
    // COUNTALL counts every RCPT that reached the plugin.
    CHECK(w2.find("all=2 flags=8 ") != std::string::npos);
    ctx.write_config("rcpthosts", "example.test\n");
    PluginHarness local(ctx, "dso", {fixture("native_probe")}, "dso:2");
    CHECK(wire(hooks::Hook::Rcpt, local.call(hooks::Hook::Rcpt, addr("info"))).find(" flags=24 ") !=
          std::string::npos);   // ESMTP | RCPTHOSTS_OK
    ctx.conn.relay_client = true;
    CHECK(wire(hooks::Hook::Rcpt, local.call(hooks::Hook::Rcpt, addr("info", "far.test"))).find(" flags=25 ") !=
          std::string::npos);   // + RELAY
}

TEST_CASE("dso native: DISABLE_PLUGINS stops every dso plugin for the connection") {
    FakeContext ctx;
    PluginHarness native(ctx, "dso", {fixture("native_probe")});
    PluginHarness legacy(ctx, "dso", {fixture("indimail_reject")}, "dso:2");
    ctx.txn.emplace();
    CHECK(std::string(result_name(native.call(hooks::Hook::Mail, addr("disable")))) == "DECLINED");
    CHECK(ctx.notes_map.count("dso.disabled") == 1);
    open_txn(ctx);
    CHECK(std::string(result_name(native.call(hooks::Hook::Rcpt, addr("reject")))) == "DECLINED");
    CHECK(std::string(result_name(legacy.call(hooks::Hook::Rcpt, addr("blocked")))) == "DECLINED");
}

TEST_CASE("dso native: on_data_start refusals keep the transaction") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    open_txn(ctx, "s@example.test", {"r@example.test"});
    CHECK(std::string(result_name(h.call(hooks::Hook::Data))) == "DECLINED");
    ctx.conn.env["NATIVE_DATA_REJECT"] = "1";
    auto v = h.call(hooks::Hook::Data);
    REQUIRE(v);
    CHECK(v->keep_transaction);
    CHECK(wire(hooks::Hook::Data, v) == "451 4.7.1 greylisted\r\n");
}

TEST_CASE("dso native: on_data_end reads the whole message on the pool, from memory or a file") {
    for (std::size_t threshold : {std::size_t{1} << 20, std::size_t{0}}) {
        CAPTURE(threshold);
        FakeContext ctx;
        PluginHarness h(ctx, "dso", {fixture("native_probe")});
        open_txn(ctx, "s@example.test", {"r@example.test"});
        std::string body = "Subject: t\r\n\r\n";
        for (int i = 0; i < 500; ++i) body += "line " + std::to_string(i) + "\r\n";
        add_body(ctx, body, threshold);
        CHECK(ctx.txn->body->in_file() == (threshold == 0));
        const std::uint64_t size = ctx.txn->message_size();
        auto sink = h.start(hooks::Hook::DataPost);
        CHECK_FALSE(sink->verdict);   // never inline: reading may touch the disk
        REQUIRE(spin(ctx, [&] { return sink->verdict.has_value(); }));
        CHECK(std::string(result_name(sink->verdict)) == "DECLINED");
        CHECK(ctx.txn->added_headers ==
              std::vector<std::string>{"X-Body-Bytes: " + std::to_string(size), "X-Body-Match: yes"});
    }
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    open_txn(ctx, "s@example.test", {"r@example.test"});
    add_body(ctx, "Subject: x\r\n\r\nplease REJECTME now\r\n");
    auto v = h.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(wire(hooks::Hook::DataPost, v) == "554 5.7.1 content\r\n");
}

}  // namespace ASMTPD_TEST_UNIT
