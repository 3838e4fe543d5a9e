// spp_test.cpp - tests plugins/spp/spp.cpp (with spp_chain.cpp) on a real loop with real
// /bin/sh programs: hooks -> sections, environment, side effects through the Context,
// failures, timeouts, the kill on disconnect, stderr logging, reloads and arguments.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "hooks/defaults.hpp"
#include "plugins/common/relay_client.hpp"
#include "t/support/fake_context.hpp"

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

// A /bin/sh program in the config dir (qmail's home in these tests).
std::string script(FakeContext& ctx, const std::string& name, const std::string& body) {
    std::string path = ctx.dir() / name;
    ctx.dir().write(name, "#!/bin/sh\n" + body);
    REQUIRE(::chmod(path.c_str(), 0755) == 0);
    return path;
}

std::string wire(hooks::Hook h, const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    return hooks::dispose(h, *v).reply.wire(true);
}

std::string slurp(const std::string& path) { return test::read_file(path); }

bool process_gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Runs the loop without blocking until pred() or the time is up.
template <class P>
bool spin(FakeContext& ctx, P pred, int ms = 5000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        uv_run(ctx.loop(), UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
}

hooks::HookArgs helo(const std::string& h) {
    return hooks::HeloArgs{h};
}

}  // namespace

TEST_CASE("spp: missing smtpplugins -> 421 in place of the greeting; 'missing disable' turns spp off") {
    FakeContext ctx;
    PluginHarness p(ctx, "spp");
    REQUIRE_FALSE(p.init_error);
    auto v = p.call(hooks::Hook::Connect);
    REQUIRE(v);
    auto d = hooks::dispose(hooks::Hook::Connect, *v);
    CHECK(d.action == hooks::Action::RespondClose);
    CHECK(d.reply.wire(true) == "421 unable to read controls (#4.3.0)\r\n");
    CHECK(ctx.log_text().find("cannot read") != std::string::npos);

    FakeContext ctx2;
    PluginHarness q(ctx2, "spp", {"missing", "disable"});
    CHECK(std::string(result_name(q.call(hooks::Hook::Connect))) == "DECLINED");
    ctx2.txn.emplace();
    CHECK(std::string(result_name(q.mail("a", "b.example"))) == "DECLINED");

    // NOSPP (any value, even empty) means the file is not even looked at.
    FakeContext ctx3;
    ctx3.conn.env["NOSPP"] = "";
    PluginHarness r(ctx3, "spp");
    CHECK(std::string(result_name(r.call(hooks::Hook::Connect))) == "DECLINED");
}

TEST_CASE("spp: sections run in order with qmail-spp's variables; E rejects with the exact text") {
    FakeContext ctx;
    std::string log = ctx.dir() / "order.log";
    script(ctx, "p1", "echo \"p1 $SMTPMAILFROM $TCPREMOTEIP $PROTO $SMTPHELOHOST\" >> " + log + "\n");
    script(ctx, "p2", "echo p2 >> " + log + "\necho 'E553 5.7.1 no'\n");
    script(ctx, "p3", "echo p3 >> " + log + "\n");
    ctx.write_config("smtpplugins", "[mail]\np1\np2\np3\n");
    PluginHarness p(ctx, "spp");
    REQUIRE_FALSE(p.init_error);
    REQUIRE(std::string(result_name(p.call(hooks::Hook::Connect))) == "DECLINED");
    CHECK(std::string(result_name(p.call(hooks::Hook::Helo, helo("client.example")))) == "DECLINED");
    ctx.txn.emplace();
    auto v = p.mail("joe", "Example.ORG");
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(wire(hooks::Hook::Mail, v) == "553 5.7.1 no\r\n");
    CHECK(slurp(log) == "p1 joe@Example.ORG 192.0.2.10 TCP client.example\np2\n");   // p3 never ran
    CHECK(ctx.conn.env.at("TCPREMOTEPORT") == "40000");
}

TEST_CASE("spp: P lines go ahead of the session's reply; N leaves the decision to later plugins") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[rcpt]\n:echo P250-note; echo N\n:echo E550 never\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.rcpt("a", "example.org"))) == "DECLINED");
    CHECK(ctx.reply_prefix == std::vector<std::string>{"250-note"});
}

TEST_CASE("spp: S, U and C change what later programs and the envelope see") {
    FakeContext ctx;
    std::string log = ctx.dir() / "env.log";
    ctx.conn.env["FROMMAP"] = "1";
    script(ctx, "m", "echo Sfoo=bar\necho UFROMMAP\n");
    script(ctx, "r1", "echo Cnew@example.org\n");
    script(ctx, "r2", "echo \"foo=${foo-unset} map=${FROMMAP-unset} to=$SMTPRCPTTO\" >> " + log + "\n");
    ctx.write_config("smtpplugins", "[mail]\nm\n[rcpt]\nr1\nr2\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("a", "example.org"))) == "DECLINED");
    auto moved = p.rcpt("old", "example.org");
    CHECK(std::string(result_name(moved)) == "DECLINED");
    CHECK(slurp(log) == "foo=bar map=unset to=new@example.org\n");
    REQUIRE(moved->address);
    CHECK(moved->address->format() == "<new@example.org>");
    CHECK(ctx.conn.env.at("foo") == "bar");
    CHECK_FALSE(ctx.conn.env.count("FROMMAP"));
}

TEST_CASE("spp: counters, SMTPRCPTHOSTSOK, and RELAYCLIENT") {
    FakeContext ctx;
    std::string log = ctx.dir() / "count.log";
    ctx.write_config("rcpthosts", "example.org\n");
    script(ctx, "r", "echo \"$SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL/$SMTPRCPTHOSTSOK/${RELAYCLIENT-unset}\" >> " + log +
                         "\ncase $SMTPRCPTTO in bad@*) echo E550 no;; esac\n");
    ctx.write_config("smtpplugins", "[rcpt]\nr\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    p.rcpt("a", "example.org");
    ctx.txn->recipients.push_back(proto::Address{"a", "example.org"});   // the session accepted it
    CHECK(std::string(result_name(p.rcpt("bad", "example.org"))) == "DENY");
    p.rcpt("x", "foreign.test");                                      // rcpt_ok would refuse it
    p.rcpt("d", "example.org");
    ctx.txn.emplace();                                                 // a new MAIL
    p.rcpt("e", "example.org");
    ctx.conn.relay_client = true;                                      // e.g. the relay plugin
    p.rcpt("f", "foreign.test");
    CHECK(slurp(log) == "0/1/1/unset\n1/2/1/unset\n1/3/0/unset\n1/4/1/unset\n0/1/1/unset\n0/2/1/\n");
}

TEST_CASE("spp: H lines go right after Received when DATA passes; L errors are deferred") {
    FakeContext ctx;
    script(ctx, "c", "echo 'LR550 5.7.1 listed'\n");
    script(ctx, "r", "echo 'HX-T: 1'\necho 'H  folded'\n");
    ctx.write_config("smtpplugins", "[connection]\nc\n[rcpt]\nr\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto v = p.rcpt("a", "example.org");
    CHECK(wire(hooks::Hook::Rcpt, v) == "550 5.7.1 listed\r\n");
    CHECK(wire(hooks::Hook::Rcpt, p.rcpt("b", "example.org")) == "550 5.7.1 listed\r\n");   // not consumed
    // Only the client's RSET clears the queue.
    p.call(hooks::Hook::ResetTransaction);
    CHECK(std::string(result_name(p.rcpt("b", "example.org"))) == "DENY");
    p.call(hooks::Hook::ResetTransaction, hooks::ResetArgs{true});
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.rcpt("b", "example.org"))) == "DECLINED");
    ctx.txn->added_headers.push_back("X-Other: plugin");
    CHECK(std::string(result_name(p.call(hooks::Hook::Data))) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-T: 1\n  folded", "X-Other: plugin"});
}

TEST_CASE("spp: LD refuses DATA before [data] runs and keeps the transaction") {
    FakeContext ctx;
    std::string marker = ctx.dir() / "data-ran";
    ctx.write_config("smtpplugins", "[mail]\n:echo LD451 later\n[data]\n:touch " + marker + "\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    p.mail("a", "example.org");
    auto v = p.call(hooks::Hook::Data);
    REQUIRE(v);
    CHECK(v->keep_transaction);
    CHECK(wire(hooks::Hook::Data, v) == "451 later\r\n");
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("spp: A switches spp off for the connection") {
    FakeContext ctx;
    std::string marker = ctx.dir() / "ran";
    ctx.write_config("smtpplugins", "[helo]\n:echo A\n:touch " + marker + "\n[mail]\n:touch " + marker + "\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(p.call(hooks::Hook::Helo, helo("x")))) == "DECLINED");
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("a", "example.org"))) == "DECLINED");
    CHECK_FALSE(std::filesystem::exists(marker));
    CHECK(ctx.notes_map.at("spp.disabled") == "1");
    CHECK(ctx.conn.env.at("SMTPHELOHOST") == "x");
    CHECK_FALSE(ctx.conn.env.count("SMTPMAILFROM"));   // qmail-spp stops setting it after A
}

TEST_CASE("spp: program failures") {
    FakeContext ctx;
    script(ctx, "e120", "exit 120\n");
    script(ctx, "segv", "kill -SEGV $$\n");
    script(ctx, "noexec", "echo N\n");
    REQUIRE(::chmod((ctx.dir() / "noexec").c_str(), 0644) == 0);
    ctx.write_config("smtpplugins",
                     "[helo]\ne120\n[mail]\n/nonexistent/x\n[rcpt]\nsegv\n[data]\nnoexec\n[connection]\n:/nonexistent\n");
    PluginHarness p(ctx, "spp");
    CHECK(std::string(result_name(p.call(hooks::Hook::Connect))) == "DECLINED");   // sh exit 127: goes on
    CHECK(ctx.log_text().find("127") != std::string::npos);
    CHECK(wire(hooks::Hook::Helo, p.call(hooks::Hook::Helo, helo("x"))) ==
          "451 qmail-spp failure: e120: can't execute (#4.3.0)\r\n");
    ctx.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, p.mail("a", "b.example")) ==
          "451 qmail-spp failure: /nonexistent/x: can't execute (#4.3.0)\r\n");
    CHECK(wire(hooks::Hook::Rcpt, p.rcpt("a", "b.example")) ==
          "451 qmail-spp failure: segv: child crashed (#4.3.0)\r\n");
    auto d = p.call(hooks::Hook::Data);
    CHECK(wire(hooks::Hook::Data, d) == "451 qmail-spp failure: noexec: can't execute (#4.3.0)\r\n");
    CHECK(d->keep_transaction);
}

TEST_CASE("spp: a program past its timeout is killed, reaped and answered with 451 timeout") {
    FakeContext ctx;
    std::string pidfile = ctx.dir() / "pid";
    script(ctx, "slow", "echo $$ > " + pidfile + "\ntrap '' TERM\nsleep 30\n");
    ctx.write_config("smtpplugins", "[rcpt]\nslow\n");
    PluginHarness p(ctx, "spp", {"timeout", "0.3"});
    REQUIRE_FALSE(p.init_error);
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto t0 = std::chrono::steady_clock::now();
    auto v = p.rcpt("a", "example.org");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CHECK(wire(hooks::Hook::Rcpt, v) == "451 qmail-spp failure: slow: timeout (#4.3.0)\r\n");
    CHECK(ms >= 300);
    CHECK(ms < 5000);   // TERM ignored: SIGKILL 2 s later
    int pid = std::stoi(slurp(pidfile));
    CHECK(process_gone(pid));
}

TEST_CASE("spp: the command budget bounds the whole chain") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[mail]\n:sleep 0.3\n:sleep 0.3\n:sleep 0.3\n");
    PluginHarness p(ctx, "spp", {"budget", "0.5"});
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, p.mail("a", "b.example")) == "451 qmail-spp failure: :sleep 0.3: timeout (#4.3.0)\r\n");
}

TEST_CASE("spp: a client that leaves kills the running program") {
    FakeContext ctx;
    std::string pidfile = ctx.dir() / "pid";
    script(ctx, "hang", "echo $$ > " + pidfile + "\nexec sleep 30\n");
    ctx.write_config("smtpplugins", "[rcpt]\nhang\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto sink = p.start(hooks::Hook::Rcpt, PluginHarness::address_args("a", "example.org"));
    REQUIRE(spin(ctx, [&] { return slurp(pidfile).size() > 1; }));
    int pid = std::stoi(slurp(pidfile));
    CHECK_FALSE(process_gone(pid));
    p.call(hooks::Hook::Disconnect);
    ctx.end_session();
    CHECK(spin(ctx, [&] { return process_gone(pid); }));
    CHECK(sink->resolves <= 1);
}

TEST_CASE("spp: stderr lines are logged with the session id and the plugin line") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[rcpt]\n:echo one >&2; printf 'two\\033x\\n' >&2; echo three >&2\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.rcpt("a", "example.org"))) == "DECLINED");
    std::string log = ctx.log_text();
    CHECK(log.find("spp session=0000000000001234 plugin=\":echo one >&2; printf 'two\\033x\\n' >&2; echo "
                   "three >&2\" pid=") != std::string::npos);
    CHECK(log.find(": one\n") != std::string::npos);
    CHECK(log.find(": two\\x1bx\n") != std::string::npos);
    CHECK(log.find(": three\n") != std::string::npos);
    CHECK(ctx.reply_prefix.empty());
}

TEST_CASE("spp: output caps") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[rcpt]\n:head -c 1048576 /dev/zero | tr '\\0' H\n[mail]\n:echo N; head -c 200000 /dev/zero\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(wire(hooks::Hook::Rcpt, p.rcpt("a", "example.org")).find("output too large") != std::string::npos);
    CHECK(std::string(result_name(p.mail("a", "example.org"))) == "DECLINED");   // N came first
}

TEST_CASE("spp: X-data_post programs read the message and use the same language") {
    FakeContext ctx;
    std::string copy = ctx.dir() / "copy";
    ctx.write_config("smtpplugins",
                     "[X-data_post]\n:cat > " + copy + "; echo 'HX-Scanned: yes'; grep -q VIRUS " + copy +
                         " && echo 'E554 5.7.1 infected'; true\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    ctx.txn->received = "Received: from x\r\n";
    ctx.txn->body = io::Spool::create(ctx.loop(), ctx.dir().path(), 1 << 20);
    ctx.txn->body->append("Subject: hi\r\n\r\nclean\r\n");
    bool finished = false;
    ctx.txn->body->finish([&](bool) { finished = true; });
    REQUIRE(spin(ctx, [&] { return finished; }));
    CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
    CHECK(slurp(copy) == "Received: from x\r\nSubject: hi\r\n\r\nclean\r\n");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Scanned: yes"});

    ctx.txn->added_headers.clear();
    auto body = io::Spool::create(ctx.loop(), ctx.dir().path(), 1 << 20);
    body->append("Subject: VIRUS\r\n\r\nx\r\n");
    finished = false;
    body->finish([&](bool) { finished = true; });
    REQUIRE(spin(ctx, [&] { return finished; }));
    ctx.txn->body = body;
    auto v = p.call(hooks::Hook::DataPost);
    CHECK(wire(hooks::Hook::DataPost, v) == "554 5.7.1 infected\r\n");
}

TEST_CASE("spp: SPPCONFFILE, reload on change, and a per-session snapshot") {
    FakeContext ctx;
    ctx.dir().write("alt", "[mail]\n:echo E550 from alt\n");
    ctx.write_config("smtpplugins", "[mail]\n:echo E550 from default\n");
    PluginHarness p(ctx, "spp");
    ctx.conn.env["SPPCONFFILE"] = "alt";   // relative to qmail's home (the config dir here)
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, p.mail("a", "b.example")) == "550 from alt\r\n");

    FakeContext c2;
    c2.write_config("smtpplugins", "[mail]\n:echo E550 v1\n");
    PluginHarness q(c2, "spp");
    q.call(hooks::Hook::Connect);
    c2.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 v1\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));   // past the once-a-second check
    c2.dir().write("smtpplugins", "[mail]\n:echo E550 version two\n");
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 v1\r\n");   // this session's snapshot
    q.call(hooks::Hook::Disconnect);
    q.call(hooks::Hook::Connect);                                                // "next connection"
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 version two\r\n");
    CHECK(c2.log_text().find("loaded") != std::string::npos);
}

TEST_CASE("spp: E and R and D in [connection]") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[connection]\n:echo E554 5.7.1 go away\n");
    PluginHarness p(ctx, "spp");
    auto v = p.call(hooks::Hook::Connect);
    auto d = hooks::dispose(hooks::Hook::Connect, *v);
    CHECK(d.action == hooks::Action::Respond);   // the session goes on after this "greeting"
    CHECK(d.reply.wire(true) == "554 5.7.1 go away\r\n");

    FakeContext c2;
    c2.write_config("smtpplugins", "[connection]\n:echo D\n");
    PluginHarness q(c2, "spp");
    CHECK(hooks::dispose(hooks::Hook::Connect, *q.call(hooks::Hook::Connect)).action == hooks::Action::SilentClose);
}

TEST_CASE("spp: arguments") {
    FakeContext ctx;
    for (std::vector<std::string> bad : {std::vector<std::string>{"missing", "maybe"}, {"timeout", "0"}, {"timeout", "x"},
                                         {"budget", "-1"}, {"a", "b", "c", "d", "e"}, {"cwd", "/nonexistent/dir"},
                                         {"enable", "sometimes"}, {"protect", "BAD-NAME"}, {"frobnicate", "1"}}) {
        PluginHarness p(ctx, "spp", bad);
        CHECK_MESSAGE(p.init_error, bad.front());
    }
    PluginHarness ok(ctx, "spp", {"control/smtpplugins", "missing", "disable", "timeout", "1.5", "budget", "10",
                                  "data_budget", "5", "cwd", ".", "enable", "explicit", "protect", "A,B_2"});
    CHECK_FALSE(ok.init_error);
    CHECK(ok.plugin().timeout() >= std::chrono::milliseconds(20000));
    // enable explicit: nothing runs without ENABLE_SPP.
    CHECK(std::string(result_name(ok.call(hooks::Hook::Connect))) == "DECLINED");
}

namespace {
hooks::HookArgs auth_args(const std::string& mech, const std::string& user) {
    return hooks::AuthArgs{mech, user, {}, {}};
}
}  // namespace

TEST_CASE("spp: [auth] runs at auth_post with SMTPAUTHUSER/SMTPAUTHMETHOD; its H lines wait for DATA") {
    FakeContext ctx;
    std::string log = ctx.dir() / "auth.log";
    script(ctx, "a1", "echo \"$SMTPAUTHUSER/$SMTPAUTHMETHOD/${RELAYCLIENT-unset}\" >> " + log +
                          "\necho 'HX-Auth: yes'\ncase $SMTPAUTHUSER in mallory) echo 'E535 5.7.8 no';; esac\n");
    script(ctx, "a2", "echo a2 >> " + log + "\n");
    ctx.write_config("smtpplugins", "[auth]\na1\na2\n");
    PluginHarness p(ctx, "spp");
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::AuthPost) == 1);
    p.call(hooks::Hook::Connect);
    auto bad = p.call(hooks::Hook::AuthPost, auth_args("LOGIN", "mallory"));
    CHECK(std::string(result_name(bad)) == "DENY");
    CHECK(wire(hooks::Hook::AuthPost, bad) == "535 5.7.8 no\r\n");
    auto good = p.call(hooks::Hook::AuthPost, auth_args("CRAM-MD5", "alice"));
    CHECK(std::string(result_name(good)) == "DECLINED");
    CHECK(slurp(log) == "mallory/login/unset\nalice/cram-md5/unset\na2\n");   // a2 not after the E
    // The H lines of both runs (the refused one too, qmail's way) wait for the first DATA.
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.call(hooks::Hook::Data))) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Auth: yes", "X-Auth: yes"});
    ctx.txn.emplace();   // the next message of the session gets none
    CHECK(std::string(result_name(p.call(hooks::Hook::Data))) == "DECLINED");
    CHECK(ctx.txn->added_headers.empty());
}

TEST_CASE("spp: [auth] D closes silently; A in [auth] switches spp off; no [auth] declines") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[auth]\n:echo D\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    auto d = p.call(hooks::Hook::AuthPost, auth_args("PLAIN", "x"));
    REQUIRE(d);
    CHECK(hooks::dispose(hooks::Hook::AuthPost, *d).action == hooks::Action::SilentClose);

    FakeContext ctx2;
    std::string marker = ctx2.dir() / "ran";
    ctx2.write_config("smtpplugins", "[auth]\n:echo A\n[mail]\n:touch " + marker + "\n");
    PluginHarness q(ctx2, "spp");
    q.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(q.call(hooks::Hook::AuthPost, auth_args("PLAIN", "x")))) == "DECLINED");
    ctx2.txn.emplace();
    q.mail("a", "example.org");
    CHECK_FALSE(std::filesystem::exists(marker));

    FakeContext ctx3;
    ctx3.write_config("smtpplugins", "[mail]\n");
    PluginHarness r(ctx3, "spp");
    r.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(r.call(hooks::Hook::AuthPost, auth_args("LOGIN", "bob")))) == "DECLINED");
    CHECK(ctx3.conn.env.at("SMTPAUTHMETHOD") == "login");   // set whether or not programs run
}

TEST_CASE("spp: [pass] runs at rcpt_post with the recipient counted; C changes the stored address") {
    FakeContext ctx;
    std::string log = ctx.dir() / "pass.log";
    ctx.write_config("rcpthosts", "example.org\n");
    script(ctx, "r", "echo \"rcpt $SMTPRCPTTO $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL\" >> " + log + "\n");
    script(ctx, "p", "echo \"pass $SMTPRCPTTO $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL\" >> " + log +
                         "\ncase $SMTPRCPTTO in\n  moved@*) echo Cother@example.org;;\n"
                         "  late@*) echo 'E450 4.7.1 not now';;\nesac\n");
    ctx.write_config("smtpplugins", "[rcpt]\nr\n[pass]\np\n");
    PluginHarness p(ctx, "spp");
    REQUIRE(p.handlers(hooks::Hook::RcptPost) == 1);
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto accept = [&](const std::string& local) {   // what the session does: store, then rcpt_post
        auto args = PluginHarness::address_args(local, "example.org");
        REQUIRE(std::string(result_name(p.call(hooks::Hook::Rcpt, args))) == "DECLINED");
        ctx.txn->recipients.push_back(std::get<hooks::AddressArgs>(args).address);
        return p.call(hooks::Hook::RcptPost, args);
    };
    auto one = accept("one");
    CHECK(std::string(result_name(one)) == "DECLINED");
    CHECK_FALSE(one->address);
    auto moved = accept("moved");
    CHECK(std::string(result_name(moved)) == "DECLINED");
    REQUIRE(moved->address);
    CHECK(moved->address->format() == "<other@example.org>");
    auto late = accept("late");
    CHECK(std::string(result_name(late)) == "DENYSOFT");
    CHECK(wire(hooks::Hook::RcptPost, late) == "450 4.7.1 not now\r\n");
    CHECK(slurp(log) == "rcpt one@example.org 0/1\npass one@example.org 1/1\n"
                        "rcpt moved@example.org 1/2\npass moved@example.org 2/2\n"
                        "rcpt late@example.org 2/3\npass late@example.org 3/3\n");
}

TEST_CASE("spp: without [pass] programs rcpt_post changes nothing (qmail-spp 0.42 environment)") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[rcpt]\n:true\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto args = PluginHarness::address_args("a", "example.org");
    p.call(hooks::Hook::Rcpt, args);
    ctx.txn->recipients.push_back(std::get<hooks::AddressArgs>(args).address);
    CHECK(std::string(result_name(p.call(hooks::Hook::RcptPost, args))) == "DECLINED");
    CHECK(ctx.conn.env.at("SMTPRCPTCOUNT") == "0");   // as [rcpt] left it
}

TEST_CASE("spp: the RELAYCLIENT suffix is noted at connect, before [connection] programs can S it") {
    FakeContext ctx;
    ctx.conn.env["RELAYCLIENT"] = "-gw";
    ctx.conn.relay_client = true;
    ctx.write_config("smtpplugins", "[connection]\n:echo S'RELAYCLIENT=@evil.test'\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    CHECK(ctx.conn.env.at("RELAYCLIENT") == "@evil.test");   // later programs see the S
    CHECK(plugins::relay_suffix(ctx.conn, ctx.notes_map) == std::string("-gw"));
}
