// spp_programs_test.cpp - tests how plugins/spp/spp.cpp runs its programs: failures (exit 120,
// not found, crashed, not executable), the per-program timeout and the command budget, the kill
// when the client leaves, stderr logging and the output caps.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_scripts.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::spp_scripts;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

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

}  // namespace ASMTPD_TEST_UNIT
