// spp_commands_test.cpp - tests plugins/spp/spp.cpp (with spp_chain.cpp) on a real loop with
// real /bin/sh programs: sections run in order with qmail-spp's variables, and each output
// command (E, R, D, P, N, A, S, U, C, H, L, LD) reaches the session through the Context.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "plugins/common/relay_client.hpp"
#include "t/plugins/spp/spp_scripts.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::spp_scripts;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

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

}  // namespace ASMTPD_TEST_UNIT
