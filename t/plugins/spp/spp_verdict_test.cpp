// spp_verdict_test.cpp - tests how plugins/spp/spp_output.cpp turns results into verdicts:
// plan_verdict for every terminator and failure (the reply framing [D], P lines, what a refusal
// keeps), [auth] and [pass], deferred_verdict, and a chain of several runs.
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_output_fixture.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;
using namespace asmtpd::plugins::spp::output_test;

TEST_CASE("plan_verdict: [auth] and [pass] answer like any section, no state kept on refusal") {
    Fixture fx;
    auto e = plan_verdict(Section::Auth, fx.run(Section::Auth, "E535 5.7.8 no\n"));
    CHECK(e.verdict.result == hooks::Result::Deny);
    CHECK_FALSE(e.verdict.keep_session);
    CHECK_FALSE(e.verdict.keep_transaction);
    CHECK(wire(hooks::Hook::AuthPost, e.verdict) == "535 5.7.8 no\r\n");
    auto soft = plan_verdict(Section::Auth, fx.run(Section::Auth, "E454 4.7.0 later\n"));
    CHECK(soft.verdict.result == hooks::Result::DenySoft);
    CHECK(wire(hooks::Hook::AuthPost, soft.verdict) == "454 4.7.0 later\r\n");
    auto n = plan_verdict(Section::Auth, fx.run(Section::Auth, "P235-welcome\nN\n"));
    CHECK(n.verdict.result == hooks::Result::Declined);
    CHECK(n.prefix == std::vector<std::string>{"235-welcome"});
    auto crash = fx.run(Section::Pass, "");
    RunFacts killed;
    killed.term_signal = 11;
    ChainResult cr;
    auto sc = fx.scope(Section::Pass);
    apply_run(prog(), parse_output("", false), killed, sc, cr);
    auto f = plan_verdict(Section::Pass, cr);
    CHECK(f.verdict.result == hooks::Result::DenySoft);
    CHECK(wire(hooks::Hook::RcptPost, f.verdict) == "451 qmail-spp failure: /p1: child crashed (#4.3.0)\r\n");
    CHECK(plan_verdict(Section::Pass, crash).verdict.result == hooks::Result::Declined);
    CHECK_FALSE(deferred_verdict(Section::Pass, fx.state));
    CHECK_FALSE(deferred_verdict(Section::Auth, fx.state));
}

TEST_CASE("plan_verdict: continue, N and A decline; O is OK; P lines go ahead of the reply") {
    Fixture fx;
    for (const char* out : {"", "N\n", "A\n"}) {
        auto p = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, out));
        CHECK(p.verdict.result == hooks::Result::Declined);
        CHECK_FALSE(p.verdict.reply);
    }
    auto o = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "P250-note\nO\n"));
    CHECK(o.verdict.result == hooks::Result::Ok);
    CHECK(o.prefix == std::vector<std::string>{"250-note"});
}

TEST_CASE("plan_verdict: E by first digit, exact text, P lines folded into one reply") {
    Fixture fx;
    auto e = plan_verdict(Section::Mail, fx.run(Section::Mail, "E553 5.7.1 no\n"));
    CHECK(e.verdict.result == hooks::Result::Deny);
    CHECK(wire(hooks::Hook::Mail, e.verdict) == "553 5.7.1 no\r\n");
    auto s = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "E451 greylisted\n"));
    CHECK(s.verdict.result == hooks::Result::DenySoft);
    CHECK(wire(hooks::Hook::Rcpt, s.verdict) == "451 greylisted\r\n");
    auto m = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "P550-one\nE550 two\n"));
    CHECK(wire(hooks::Hook::Rcpt, m.verdict) == "550-one\r\n550 two\r\n");
    CHECK(m.prefix.empty());
    // Separators are ours: a plugin's "P550 one" (space) still makes a continuation line.
    auto sp = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "P550 one\nP451-two\nE554 three\n"));
    CHECK(wire(hooks::Hook::Rcpt, sp.verdict) == "554-one\r\n554-two\r\n554 three\r\n");
    // connect / data keep the session / transaction; others do not.
    auto c = plan_verdict(Section::Connection, fx.run(Section::Connection, "E554 5.7.1 go away\n"));
    CHECK(c.verdict.keep_session);
    auto cd = hooks::dispose(hooks::Hook::Connect, c.verdict);
    CHECK(cd.action == hooks::Action::Respond);
    CHECK(cd.reply.wire(true) == "554 5.7.1 go away\r\n");
    auto d = plan_verdict(Section::Data, fx.run(Section::Data, "E451 4.7.1 greylisted\n"));
    CHECK(d.verdict.keep_transaction);
    CHECK(wire(hooks::Hook::Data, d.verdict) == "451 4.7.1 greylisted\r\n");
    CHECK_FALSE(e.verdict.keep_session);
    CHECK_FALSE(e.verdict.keep_transaction);
}

TEST_CASE("plan_verdict: R closes after the reply, D closes silently") {
    Fixture fx;
    auto r = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "R550 bye\n"));
    CHECK(r.verdict.result == hooks::Result::DenyDisconnect);
    auto rd = hooks::dispose(hooks::Hook::Rcpt, r.verdict);
    CHECK(rd.action == hooks::Action::RespondClose);
    CHECK(rd.reply.wire(true) == "550 bye\r\n");
    auto r4 = plan_verdict(Section::Connection, fx.run(Section::Connection, "R421 later\n"));
    CHECK(r4.verdict.result == hooks::Result::DenySoftDisconnect);
    CHECK(hooks::dispose(hooks::Hook::Connect, r4.verdict).action == hooks::Action::RespondClose);

    for (auto [sec, hook] : {std::pair{Section::Connection, hooks::Hook::Connect}, {Section::Helo, hooks::Hook::Helo},
                             {Section::Mail, hooks::Hook::Mail}, {Section::Rcpt, hooks::Hook::Rcpt},
                             {Section::Data, hooks::Hook::Data}, {Section::DataPost, hooks::Hook::DataPost}}) {
        auto d = plan_verdict(sec, fx.run(sec, "D\n"));
        CHECK(d.verdict.close_silently);
        CHECK(hooks::dispose(hook, d.verdict).action == hooks::Action::SilentClose);
    }
    // D after P lines that make a refusal: they are flushed as the last reply, then close.
    auto pd = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "P421-going\nP421 away\nD\n"));
    auto pdd = hooks::dispose(hooks::Hook::Rcpt, pd.verdict);
    CHECK(pdd.action == hooks::Action::RespondClose);
    CHECK(pdd.reply.wire(true) == "421-going\r\n421 away\r\n");
    auto p2 = plan_verdict(Section::Rcpt, fx.run(Section::Rcpt, "P250 fine\nD\n"));
    CHECK(hooks::dispose(hooks::Hook::Rcpt, p2.verdict).action == hooks::Action::SilentClose);
}

TEST_CASE("plan_verdict: failures are 451 with qmail-spp's text, and keep connect/data state") {
    Fixture fx;
    auto f = plan_verdict(Section::Mail, fx.run(Section::Mail, "", 120, "plugins/x -r foo"));
    CHECK(f.verdict.result == hooks::Result::DenySoft);
    CHECK(wire(hooks::Hook::Mail, f.verdict) == "451 qmail-spp failure: plugins/x -r foo: can't execute (#4.3.0)\r\n");
    auto c = plan_verdict(Section::Connection, fx.run(Section::Connection, "Esorry\n", 0, ":echo Esorry"));
    CHECK(hooks::dispose(hooks::Hook::Connect, c.verdict).action == hooks::Action::Respond);
    CHECK(wire(hooks::Hook::Connect, c.verdict) == "451 qmail-spp failure: :echo Esorry: malformed reply (#4.3.0)\r\n");
    auto d = plan_verdict(Section::Data, fx.run(Section::Data, "", 120));
    CHECK(d.verdict.keep_transaction);
    ChainResult busy;
    fail_chain(prog("/slow"), Failure::Busy, busy);
    CHECK(wire(hooks::Hook::Rcpt, plan_verdict(Section::Rcpt, busy).verdict) ==
          "451 qmail-spp failure: /slow: busy (#4.3.0)\r\n");
}

TEST_CASE("deferred_verdict: only MAIL/RCPT/DATA, the whole queue as one reply, not consumed") {
    SppState st;
    CHECK_FALSE(deferred_verdict(Section::Rcpt, st));
    st.queue(Deferred::Rcpt) = {"550-5.7.1 listed", "550 5.7.1 see http://x"};
    st.queue(Deferred::Data) = {"451 later"};
    auto v = deferred_verdict(Section::Rcpt, st);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    CHECK(wire(hooks::Hook::Rcpt, *v) == "550-5.7.1 listed\r\n550 5.7.1 see http://x\r\n");
    CHECK(deferred_verdict(Section::Rcpt, st));   // still there
    CHECK_FALSE(deferred_verdict(Section::Mail, st));
    CHECK_FALSE(deferred_verdict(Section::Helo, st));
    CHECK_FALSE(deferred_verdict(Section::Connection, st));
    auto d = deferred_verdict(Section::Data, st);
    REQUIRE(d);
    CHECK(d->result == hooks::Result::DenySoft);
    CHECK(d->keep_transaction);
    st.clear_buffers();
    CHECK_FALSE(deferred_verdict(Section::Rcpt, st));
}

TEST_CASE("chain: side effects of earlier runs persist, P lines accumulate, the terminator ends it") {
    Fixture fx;
    auto sc = fx.scope(Section::Rcpt);
    ChainResult r;
    RunFacts ok;
    CHECK_FALSE(apply_run(prog("/a"), parse_output("P250-one\nSx=1\n", false), ok, sc, r));
    CHECK_FALSE(apply_run(prog("/b"), parse_output("P250-two\n", false), ok, sc, r));
    CHECK(apply_run(prog("/c"), parse_output("N\n", false), ok, sc, r));
    CHECK(r.kind == Kind::Accept);
    CHECK(r.by == "/c");
    CHECK(plan_verdict(Section::Rcpt, r).prefix == std::vector<std::string>{"250-one", "250-two"});
    CHECK(fx.env.at("x") == "1");
    // A later failure drops the P lines gathered so far.
    ChainResult r2;
    apply_run(prog("/a"), parse_output("P250-one\n", false), ok, sc, r2);
    RunFacts crash;
    crash.term_signal = 9;
    CHECK(apply_run(prog("/b"), parse_output("", false), crash, sc, r2));
    CHECK(r2.prefix.empty());
    CHECK(wire(hooks::Hook::Rcpt, plan_verdict(Section::Rcpt, r2).verdict) ==
          "451 qmail-spp failure: /b: child crashed (#4.3.0)\r\n");
}

}  // namespace ASMTPD_TEST_UNIT
