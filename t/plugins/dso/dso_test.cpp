// dso_test.cpp - tests plugins/dso/dso.cpp (with dso_library, dso_native, dso_legacy) on a real
// loop with the C fixtures of t/fixtures/dso (built by CMake into ASMTPD_FIXTURE_DIR): every
// IndiMail rule of SPP.md §6, the deadline and abandonment, serialisation, and the native ABI's
// host API, verdicts and threading modes.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "core/io/spool.hpp"
#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using Clock = std::chrono::steady_clock;

#ifndef ASMTPD_FIXTURE_DIR
#error "ASMTPD_FIXTURE_DIR must name the directory of the built t/fixtures/dso libraries"
#endif

namespace {

std::string fixture(const std::string& name) { return std::string(ASMTPD_FIXTURE_DIR) + "/" + name + ".so"; }

std::string wire(hooks::Hook h, const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    return hooks::dispose(h, *v).reply.wire(true);
}

hooks::HookArgs addr(const std::string& local, const std::string& domain = "example.test") {
    return PluginHarness::address_args(local, domain);
}

hooks::HookArgs helo(const std::string& h) {
    return hooks::HeloArgs{h};
}

// Runs the loop without blocking until pred() or the time is up.
template <class P>
bool spin(FakeContext& ctx, P pred, int ms = 5000) {
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
        if (pred()) return true;
        uv_run(ctx.loop(), UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

// A transaction with a sender (and recipients), as the session has it at RCPT / DATA time.
void open_txn(FakeContext& ctx, const std::string& sender = "s@example.test", std::vector<std::string> rcpts = {}) {
    ctx.txn.emplace();
    ctx.txn->number = 1;
    ctx.txn->id = "1234.1";
    auto at = sender.find('@');
    if (at == std::string::npos) ctx.txn->sender = proto::Address{};
    else ctx.txn->sender = proto::Address{sender.substr(0, at), sender.substr(at + 1)};
    for (const auto& r : rcpts) {
        auto a = r.find('@');
        ctx.txn->recipients.push_back(proto::Address{r.substr(0, a), r.substr(a + 1)});
    }
}

// A finished body spool; threshold 0 puts it in an (unlinked) file.
void add_body(FakeContext& ctx, const std::string& body, std::size_t threshold = 1 << 20) {
    ctx.txn->received = "Received: from client by mx.example.org; Thu, 1 Jan 2026 00:00:00 +0000";
    ctx.txn->body = io::Spool::create(ctx.loop(), ctx.dir().path(), threshold);
    ctx.txn->body->append(body);
    bool done = false;
    ctx.txn->body->finish([&](bool ok) {
        CHECK(ok);
        done = true;
    });
    REQUIRE(spin(ctx, [&] { return done; }));
}

}  // namespace

// ---------------------------------------------------------------- loading and arguments

TEST_CASE("dso: an IndiMail plugin registers only its non-NULL functions") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::Mail) == 0);   // mail_func NULL: skipped (#50)
    CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
    CHECK(h.handlers(hooks::Hook::DataPost) == 0);
    CHECK(h.handlers(hooks::Hook::Data) == 0);
    PluginHarness all(ctx, "dso", {fixture("indimail_record")});
    REQUIRE_FALSE(all.init_error);
    CHECK(all.handlers(hooks::Hook::Mail) == 1);
    CHECK(all.handlers(hooks::Hook::Rcpt) == 1);
    CHECK(all.handlers(hooks::Hook::DataPost) == 1);   // data_func: after the whole body
    CHECK(all.handlers(hooks::Hook::Data) == 0);
}

TEST_CASE("dso: load errors are init errors with the reason") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        PluginHarness h(ctx, "dso", std::move(args));
        REQUIRE(h.init_error);
        return *h.init_error;
    };
    CHECK(err({}).find("usage: dso FILE") != std::string::npos);
    CHECK(err({"/nonexistent/x.so"}).find("cannot load /nonexistent/x.so") != std::string::npos);
    CHECK(err({"/nonexistent/x.so"}).find("No such file") != std::string::npos);   // dlerror()
    CHECK(err({fixture("no_entry")}).find("neither asmtpd_plugin_entry_v1 nor plugin_init") != std::string::npos);
    CHECK(err({fixture("indimail_record"), "symbol", "null_init"}).find("null_init() returned NULL") !=
          std::string::npos);
    CHECK(err({fixture("indimail_record"), "symbol", "nope"}).find("symbol nope not found") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "--", "x"}).find("takes no arguments") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "timeout", "0"}).find("timeout") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "timeout", "-1"}).find("timeout") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "concurrency", "2"}).find("THREAD_SAFE") != std::string::npos);
}

TEST_CASE("dso: symbol NAME picks IndiMail's init function (SMTP_PLUGIN_SYMB)") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_record"), "symbol", "custom_init"});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
}

TEST_CASE("dso: a relative FILE is resolved against the config directory") {
    FakeContext ctx;
    std::filesystem::copy_file(fixture("indimail_reject"), ctx.dir() / "local.so");
    PluginHarness h(ctx, "dso", {"local.so"});
    REQUIRE_FALSE(h.init_error);
    open_txn(ctx);
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("blocked"))) == "553 no\r\n");
}

TEST_CASE("dso: native entry refusals are init errors; destroy runs when the struct was sound") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        std::vector<std::string> a{fixture("native_probe"), "--"};
        a.insert(a.end(), args.begin(), args.end());
        PluginHarness h(ctx, "dso", a);
        return h.init_error.value_or("");
    };
    CHECK(err({"fail"}).find("returned -1") != std::string::npos);
    CHECK(err({"major2"}).find("ABI major version 2 is not supported") != std::string::npos);
    CHECK(err({"small"}).find("struct_size 16 is impossible") != std::string::npos);
    std::string marker = ctx.dir() / "destroyed";
    CHECK(err({"nohooks", "destroy_file", marker}).find("sets no hook") != std::string::npos);
    CHECK(test::read_file(marker) == "destroyed\n");
    CHECK(err({"thread_safe"}).empty());
}

TEST_CASE("dso: destroy() runs once when the plugin goes") {
    FakeContext ctx;
    std::string marker = ctx.dir() / "destroyed";
    {
        PluginHarness h(ctx, "dso", {fixture("native_probe"), "--", "destroy_file", marker});
        REQUIRE_FALSE(h.init_error);
        CHECK(h.handlers(hooks::Hook::Connect) == 1);
        CHECK(h.handlers(hooks::Hook::Helo) == 1);
        CHECK(h.handlers(hooks::Hook::Ehlo) == 1);
        CHECK(h.handlers(hooks::Hook::Mail) == 1);
        CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
        CHECK(h.handlers(hooks::Hook::Data) == 1);
        CHECK(h.handlers(hooks::Hook::DataPost) == 1);
        CHECK(test::read_file(marker).empty());
    }
    CHECK(test::read_file(marker) == "destroyed\n");
}

// ---------------------------------------------------------------- IndiMail semantics

TEST_CASE("dso IndiMail: rcpt_func's message is the exact reply; 0 declines") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    REQUIRE_FALSE(h.init_error);
    open_txn(ctx);
    auto blocked = h.call(hooks::Hook::Rcpt, addr("blocked"));
    CHECK(std::string(result_name(blocked)) == "DENY");
    CHECK(wire(hooks::Hook::Rcpt, blocked) == "553 no\r\n");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("multi"))) == "553-first\r\n553 second\r\n");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("nocrlf"))) == "554 5.7.1 no crlf\r\n");
    auto fine = h.call(hooks::Hook::Rcpt, addr("someone"));
    CHECK(std::string(result_name(fine)) == "DECLINED");
}

TEST_CASE("dso IndiMail: NULL or malformed messages give 451 4.3.0 rejected by plugin") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    for (const char* who : {"nullmsg", "badcode"}) {
        CAPTURE(who);
        auto v = h.call(hooks::Hook::Rcpt, addr(who));
        CHECK(std::string(result_name(v)) == "DENYSOFT");
        CHECK(wire(hooks::Hook::Rcpt, v) == "451 4.3.0 rejected by plugin\r\n");
    }
    CHECK(ctx.log_text().find("NULL message") != std::string::npos);
    CHECK(ctx.log_text().find("malformed message '250 ok") != std::string::npos);
}

TEST_CASE("dso IndiMail: a 421 text is a temporary refusal; the session continues") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    auto v = h.call(hooks::Hook::Rcpt, addr("soft"));
    REQUIRE(v);
    auto d = hooks::dispose(hooks::Hook::Rcpt, *v);
    CHECK(d.action == hooks::Action::Respond);
    CHECK(d.reply.wire(true) == "421 go away\r\n");
}

TEST_CASE("dso IndiMail: arguments are the bare addresses, \"\" for the null sender") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx, "<>");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("args"))) ==
          "553 ip=192.0.2.10 from=<> rcpt=<args@example.test>\r\n");
    open_txn(ctx, "boss@corp.test");
    ctx.conn.remote_ip = "2001:db8::7";
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("args", "Other.Test"))) ==
          "553 ip=2001:db8::7 from=<boss@corp.test> rcpt=<args@Other.Test>\r\n");
}

TEST_CASE("dso IndiMail: every function gets its arguments, in hook order") {
    FakeContext ctx;
    std::string rec = ctx.dir() / "record";
    REQUIRE(::setenv("DSO_RECORD", rec.c_str(), 1) == 0);
    {
        PluginHarness h(ctx, "dso", {fixture("indimail_record")});
        REQUIRE_FALSE(h.init_error);
        ctx.txn.emplace();
        CHECK(std::string(result_name(h.call(hooks::Hook::Mail, addr("from", "a.test")))) == "DECLINED");
        open_txn(ctx, "from@a.test");
        CHECK(std::string(result_name(h.call(hooks::Hook::Rcpt, addr("to", "b.test")))) == "DECLINED");
        add_body(ctx, "hi\r\n");
        CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
        ctx.conn.auth_user = "alice";
        ctx.conn.remote_host = "client.example";
        CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
    }
    ::unsetenv("DSO_RECORD");
    CHECK(test::read_file(rec) ==
          "mail 192.0.2.10 <from@a.test>\n"
          "rcpt 192.0.2.10 <from@a.test> <to@b.test>\n"
          "data mx.example.org 192.0.2.10 unknown []\n"
          "data mx.example.org 192.0.2.10 client.example [alice]\n");
}

TEST_CASE("dso IndiMail: data_func runs after the body and its refusal is final (#51)") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_data")});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::DataPost) == 1);
    open_txn(ctx, "s@example.test", {"r@example.test"});
    add_body(ctx, "Subject: x\r\n\r\nbody\r\n");
    auto v = h.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DENY");
    auto d = hooks::dispose(hooks::Hook::DataPost, *v);
    CHECK(d.action == hooks::Action::Respond);   // the session resets: nothing is queued
    CHECK(d.reply.wire(true) ==
          "554 5.7.1 rejected: local=mx.example.org ip=192.0.2.10 host=unknown info=[]\r\n");
    ctx.txn.reset();   // no transaction: nothing to judge
    CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
}

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

// ---------------------------------------------------------------- the native ABI

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
