// spp_output_test.cpp - tests plugins/spp/spp_output.cpp: the output language (SPP.md §2.1,
// §2.2), the outcome rules of one run and of a chain (§2.3), the reply framing [D], the limits
// of §5.2.6, deferred errors, and verdicts; then random outputs that must never break the
// invariants (one well-formed reply, limits respected).
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"

using namespace asmtpd;
using namespace asmtpd::plugins::spp;
using Kind = ChainResult::Kind;

namespace {

ProgramLine prog(std::string line = "/p1") {
    ProgramLine p;
    p.line = line;
    p.shell = !line.empty() && line[0] == ':';
    p.command = p.shell ? line.substr(1) : line;
    return p;
}

struct Fixture {
    EnvMap env;
    SppState state;
    std::vector<std::string> protect{"SECRET"};
    OutputLimits limits;
    CommandScope scope(Section s) {
        CommandScope c;
        c.limits = limits;
        c.section = s;
        c.env = &env;
        c.state = &state;
        c.protected_names = &protect;
        return c;
    }
    // Runs one program that printed `out` and exited normally with `status`.
    ChainResult run(Section s, std::string_view out, std::int64_t status = 0, const std::string& line = "/p1") {
        ChainResult r;
        auto sc = scope(s);
        RunFacts f;
        f.exit_status = status;
        apply_run(prog(line), parse_output(out, false, limits), f, sc, r);
        return r;
    }
};

std::string wire(hooks::Hook h, const hooks::Verdict& v) { return hooks::dispose(h, v).reply.wire(true); }

}  // namespace

// ---- parse_output ---------------------------------------------------------------------

TEST_CASE("parse_output: lines up to the first terminator; empty lines skipped; CR kept") {
    auto p = parse_output("\nXfoo\nHX-A: 1\r\n\nN\nE550 never\n", false);
    REQUIRE(p.lines.size() == 3);
    CHECK(p.lines[0].cmd == 'X');
    CHECK(p.lines[0].arg == "foo");
    CHECK(p.lines[1].arg == "X-A: 1\r");
    CHECK(p.lines[2].cmd == 'N');
    CHECK(p.terminated);
    CHECK_FALSE(p.too_large);
    CHECK_FALSE(p.unterminated_last);

    for (char t : std::string("ANOERD")) {
        auto q = parse_output(std::string(1, t) + "\nP250-after\n", false);
        REQUIRE(q.lines.size() == 1);
        CHECK(q.terminated);
        CHECK(is_terminator(t));
    }
    for (char t : std::string("aneordPHCSULX0 ")) CHECK_FALSE(is_terminator(t));
}

TEST_CASE("parse_output: a final line without newline counts [D]; a cut line does not") {
    auto p = parse_output("E550 abc", false);
    REQUIRE(p.lines.size() == 1);
    CHECK(p.lines[0].arg == "550 abc");
    CHECK(p.unterminated_last);
    CHECK(p.terminated);
    auto a = parse_output("A", false);
    CHECK(a.terminated);
    // Truncated by the runner's byte cap: the partial line is dropped, and without a
    // terminator before it the output is too large.
    auto t = parse_output("HX: 1\nE550 ab", true);
    CHECK(t.lines.size() == 1);
    CHECK(t.too_large);
    auto t2 = parse_output("N\nxxxxxxxx", true);
    CHECK(t2.terminated);
    CHECK_FALSE(t2.too_large);
}

TEST_CASE("parse_output: line and count limits apply only before the terminator") {
    OutputLimits lim;
    lim.max_line = 10;
    lim.max_lines = 3;
    CHECK(parse_output("H012345678\n", false, lim).lines.size() == 1);         // 10 bytes: fits
    CHECK(parse_output("H0123456789\n", false, lim).too_large);                // 11 bytes
    CHECK(parse_output("H012345678\r\n", false, lim).too_large);              // the CR counts
    CHECK(parse_output("H1\nH2\nH3\n", false, lim).lines.size() == 3);
    CHECK(parse_output("H1\nH2\nH3\nH4\n", false, lim).too_large);
    CHECK(parse_output("\n\n\nH4\n", false, lim).too_large);                 // empty lines count
    auto ok = parse_output("N\nH0123456789ABCDEF\nH\nH\nH\n", false, lim);
    CHECK(ok.terminated);
    CHECK_FALSE(ok.too_large);
}

// ---- reply lines ----------------------------------------------------------------------

TEST_CASE("parse_reply_line: 3 digits 200..599 then space, dash or end") {
    auto r = parse_reply_line("550 5.7.1 no");
    REQUIRE(r);
    CHECK(r->code == 550);
    CHECK(r->text == "5.7.1 no");
    CHECK(parse_reply_line("250-note")->text == "note");
    CHECK(parse_reply_line("451")->text.empty());
    CHECK(parse_reply_line("451 ")->text.empty());
    CHECK(parse_reply_line("200 x"));
    CHECK(parse_reply_line("599 x"));
    for (const char* bad : {"", "55", "sorry", "5500 x", "55a x", "199 x", "600 x", "099 x", "550:x", " 550 x", "550\tx"})
        CHECK_MESSAGE(!parse_reply_line(bad), bad);
}

TEST_CASE("failure_reply: qmail-spp's exact text, no enhanced code") {
    auto r = failure_reply(":/bin/x -y", Failure::CantExecute);
    CHECK(r.wire(true) == "451 qmail-spp failure: :/bin/x -y: can't execute (#4.3.0)\r\n");
    CHECK(failure_reason(Failure::Crashed) == "child crashed");
    CHECK(failure_reason(Failure::Timeout) == "timeout");
    CHECK(failure_reason(Failure::TooLarge) == "output too large");
    CHECK(failure_reason(Failure::Malformed) == "malformed reply");
    CHECK(failure_reason(Failure::Busy) == "busy");
    CHECK(failure_reason(Failure::ForkFailed) == "fork() failed");
}

// ---- one run ------------------------------------------------------------------------

TEST_CASE("apply_run: nothing printed means continue, whatever the exit code but 120") {
    Fixture fx;
    for (std::int64_t st : {0, 1, 2, 100, 111, 119, 121, 126, 127, 255}) {
        auto r = fx.run(Section::Mail, "", st);
        CHECK(r.kind == Kind::Continue);
        CHECK(r.failure == Failure::None);
    }
    auto r = fx.run(Section::Mail, "", 120);
    CHECK(r.kind == Kind::Failure);
    CHECK(r.failure == Failure::CantExecute);
    // 120 wins over a terminator, as qmail checks the exit before the output.
    CHECK(fx.run(Section::Mail, "N\n", 120).failure == Failure::CantExecute);
    CHECK(fx.run(Section::Mail, "E550 x\n", 120).kind == Kind::Failure);
}

TEST_CASE("apply_run: the fate of the child comes first") {
    Fixture fx;
    auto sc = fx.scope(Section::Rcpt);
    auto run = [&](RunFacts f, std::string_view out, bool trunc = false) {
        ChainResult r;
        apply_run(prog(), parse_output(out, trunc), f, sc, r);
        return r;
    };
    RunFacts crash;
    crash.term_signal = 11;
    CHECK(run(crash, "N\n").failure == Failure::Crashed);
    CHECK(run(crash, "").failure == Failure::Crashed);
    RunFacts nospawn;
    nospawn.spawned = false;
    nospawn.spawn_error = RunFacts::SpawnError::NotExecutable;
    CHECK(run(nospawn, "").failure == Failure::CantExecute);
    nospawn.spawn_error = RunFacts::SpawnError::Resources;
    CHECK(run(nospawn, "").failure == Failure::ForkFailed);
    nospawn.timed_out = true;
    CHECK(run(nospawn, "").failure == Failure::Busy);
    RunFacts slow;
    slow.timed_out = true;
    slow.term_signal = 15;
    CHECK(run(slow, "N\n").failure == Failure::Timeout);
    RunFacts flood;
    flood.truncated = true;
    flood.term_signal = 9;
    CHECK(run(flood, "HX: 1\nHX: 2", true).failure == Failure::TooLarge);
    // A flood after a terminator: the terminator stands, our SIGKILL is no crash.
    auto r = run(flood, "E550 first\nxxxxxxxxxxxxxx", true);
    CHECK(r.kind == Kind::Reject);
    CHECK(r.reply->text == "first");
    // A sh line exiting 126/127 goes on silently (only a note for the log).
    ChainResult s;
    RunFacts sh;
    sh.exit_status = 127;
    CHECK_FALSE(apply_run(prog(":/nonexistent"), parse_output("", false), sh, sc, s));
    CHECK(s.kind == Kind::Continue);
    REQUIRE(s.notes.size() == 1);
    CHECK(s.notes[0].find("127") != std::string::npos);
}

TEST_CASE("apply_run: terminators") {
    Fixture fx;
    CHECK(fx.run(Section::Mail, "N\n").kind == Kind::Accept);
    CHECK(fx.run(Section::Mail, "O\n").kind == Kind::Override);
    CHECK(fx.run(Section::Mail, "D\n").kind == Kind::Drop);
    auto e = fx.run(Section::Mail, "E553 5.7.1 no\n");
    CHECK(e.kind == Kind::Reject);
    CHECK(e.reply->code == 553);
    CHECK(e.reply->text == "5.7.1 no");
    CHECK(e.by == "/p1");
    auto rr = fx.run(Section::Rcpt, "R550 bye\n");
    CHECK(rr.kind == Kind::RejectClose);
    CHECK(fx.run(Section::Mail, "N\nE550 x\n").kind == Kind::Accept);   // the first terminator wins
    CHECK_FALSE(fx.state.disabled);
    CHECK(fx.run(Section::Mail, "A\n").kind == Kind::Disable);
    CHECK(fx.state.disabled);
}

TEST_CASE("apply_run: unknown and lower-case commands are ignored") {
    Fixture fx;
    auto r = fx.run(Section::Mail, "Xfoo\ne550 x\n\nn\na\nq\n");
    CHECK(r.kind == Kind::Continue);
    CHECK(r.notes.empty());
    CHECK_FALSE(fx.state.disabled);
}

TEST_CASE("apply_run: malformed replies [D]") {
    Fixture fx;
    for (const char* out : {"E\n", "Esorry\n", "E55 x\n", "E250 ok\n", "E354 go\n", "R\n", "Rbye\n", "P\nN\n",
                            "Pnote\nN\n", "E600 x\n"}) {
        auto r = fx.run(Section::Mail, out);
        CHECK_MESSAGE(r.kind == Kind::Failure, out);
        CHECK_MESSAGE(r.failure == Failure::Malformed, out);
        CHECK(r.by == "/p1");
    }
    // "P" with a 2xx-5xx code is fine; E must refuse (4xx/5xx).
    auto ok = fx.run(Section::Rcpt, "P250-note\nN\n");
    CHECK(ok.kind == Kind::Accept);
    REQUIRE(ok.prefix.size() == 1);
    CHECK(ok.prefix[0].text == "note");
    // A crash outranks a malformed line (qmail checks the child first).
    Fixture fx2;
    auto sc = fx2.scope(Section::Mail);
    ChainResult r;
    RunFacts crash;
    crash.term_signal = 6;
    apply_run(prog(), parse_output("Ebad\n", false), crash, sc, r);
    CHECK(r.failure == Failure::Crashed);
}

TEST_CASE("apply_run: side effects happen in order, even when the run then fails") {
    Fixture fx;
    fx.env["OLD"] = "1";
    auto sc = fx.scope(Section::Mail);
    ChainResult r;
    RunFacts crash;
    crash.term_signal = 11;
    apply_run(prog(), parse_output("Sfoo=bar\nUOLD\nHX-A: 1\nLR550 later\nP250-gone\nE550 gone\n", false), crash, sc, r);
    CHECK(r.kind == Kind::Failure);
    CHECK(fx.env.at("foo") == "bar");
    CHECK_FALSE(fx.env.count("OLD"));
    CHECK(fx.state.headers == std::vector<std::string>{"X-A: 1"});
    CHECK(fx.state.queue(Deferred::Rcpt) == std::vector<std::string>{"550 later"});
    CHECK(r.prefix.empty());        // P and E of a failed run are not sent
    CHECK_FALSE(r.reply);
    bool logged = false;
    for (const auto& n : r.notes) logged |= n.find("gone") != std::string::npos;
    CHECK(logged);
}

TEST_CASE("apply_run: S and U rules [D]") {
    Fixture fx;
    fx.env["PATH"] = "/bin";
    fx.env["LD_X"] = "x";
    auto r = fx.run(Section::Rcpt,
                    "Sfoo=bar\nSempty=\nSeq=a=b\nSnoequals\nS=x\nS1abc=x\nSa-b=x\nSPATH=/evil\nSLD_PRELOAD=/x.so\n"
                    "SSECRET=x\nULD_X\nUPATH\nUSECRET\nUbad-name\nSsp ace=x\nScr=x\r\n");
    CHECK(fx.env.at("foo") == "bar");
    CHECK(fx.env.at("empty").empty());
    CHECK(fx.env.at("eq") == "a=b");
    CHECK(fx.env.at("cr") == "x\r");   // values are verbatim
    CHECK(fx.env.at("PATH") == "/bin");
    CHECK(fx.env.at("LD_X") == "x");
    CHECK_FALSE(fx.env.count("LD_PRELOAD"));
    CHECK_FALSE(fx.env.count("SECRET"));
    CHECK_FALSE(fx.env.count("noequals"));
    CHECK_FALSE(fx.env.count("1abc"));
    CHECK_FALSE(fx.env.count("sp ace"));
    CHECK(fx.state.sets == 4);
    CHECK(r.notes.size() >= 9);
    fx.run(Section::Rcpt, "Ufoo\nUnever_set\n");
    CHECK_FALSE(fx.env.count("foo"));
}

TEST_CASE("apply_run: S limits: 4 KiB name/value, 256 sets per session, no NUL") {
    Fixture fx;
    fx.limits.max_line = 10000;   // the S limit, not the line limit, is under test
    std::string big(4097, 'v');
    fx.run(Section::Mail, "Sbig=" + big + "\nSok=" + std::string(4096, 'v') + "\n");
    CHECK_FALSE(fx.env.count("big"));
    CHECK(fx.env.at("ok").size() == 4096);
    fx.run(Section::Mail, std::string("Snul=a\0b\n", 9));
    CHECK_FALSE(fx.env.count("nul"));
    std::string many;
    for (int i = 0; i < 300; ++i) many += "Sv" + std::to_string(i) + "=1\n";
    fx.run(Section::Mail, many);
    CHECK(fx.state.sets == 256);
    CHECK(fx.env.count("v254"));
    CHECK_FALSE(fx.env.count("v255"));   // 1 ("ok") + 255 before it
    // U is not limited by the count.
    fx.run(Section::Mail, "Uv0\n");
    CHECK_FALSE(fx.env.count("v0"));
}

TEST_CASE("apply_run: C only in [mail], [rcpt] and [pass], validated, updates the variable") {
    Fixture fx;
    fx.env["SMTPRCPTTO"] = "old@example.org";
    auto r = fx.run(Section::Rcpt, "Cnew@example.org\n");
    CHECK(r.address == std::optional<std::string>("new@example.org"));
    CHECK(fx.env.at("SMTPRCPTTO") == "new@example.org");
    auto m = fx.run(Section::Mail, "C\n");   // C with nothing: the null sender, allowed for MAIL
    CHECK(m.address == std::optional<std::string>(""));
    CHECK(fx.env.at("SMTPMAILFROM").empty());
    auto h = fx.run(Section::Helo, "Cx@y\n");
    CHECK_FALSE(h.address);
    CHECK(h.notes.empty());   // silently ignored, as qmail-spp does
    for (const std::string& bad : std::vector<std::string>{"C\n", "Cfoo bar@x\n", "C<a@b>\n", "Ca@b\rx\n",
                                                         "C" + std::string(901, 'a') + "@b\n"}) {
        auto b = fx.run(Section::Rcpt, bad);
        CHECK_MESSAGE(!b.address, bad);
        CHECK_MESSAGE(b.notes.size() == 1, bad);
    }
    CHECK(fx.env.at("SMTPRCPTTO") == "new@example.org");
    // The last valid C wins.
    auto two = fx.run(Section::Rcpt, "Ca@x.example\nCb@x.example\n");
    CHECK(*two.address == "b@x.example");
    // [pass] runs with SMTPRCPTTO as its address (sagredo): C there changes the stored recipient.
    auto pass = fx.run(Section::Pass, "Cpassed@x.example\n");
    CHECK(pass.address == std::optional<std::string>("passed@x.example"));
    CHECK(fx.env.at("SMTPRCPTTO") == "passed@x.example");
    CHECK(fx.run(Section::Pass, "C\n").notes.size() == 1);    // no null recipient
    // [auth], [data] and [connection] have no address: C is ignored there.
    for (Section s : {Section::Auth, Section::Data, Section::Connection}) {
        auto ign = fx.run(s, "Cz@x.example\n");
        CHECK_FALSE(ign.address);
        CHECK(ign.notes.empty());
    }
    CHECK(fx.env.at("SMTPRCPTTO") == "passed@x.example");
}

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

TEST_CASE("apply_run: H lines, folding, limits") {
    Fixture fx;
    fx.run(Section::Rcpt, "HX-A: 1\nH  folded\nH\tmore\nHX-B: 2\nH\n");
    CHECK(fx.state.headers == std::vector<std::string>{"X-A: 1\n  folded\n\tmore", "X-B: 2"});
    Fixture fresh;
    auto r = fresh.run(Section::Rcpt, "H continuation first\n");
    CHECK(fresh.state.headers.empty());
    CHECK(r.notes.size() == 1);
    fresh.run(Section::Rcpt, "HX-Long: " + std::string(991, 'x') + "\n");   // 999 bytes > 998
    CHECK(fresh.state.headers.empty());
    fresh.run(Section::Rcpt, "HX-Ok: " + std::string(992, 'x') + "\n");     // 998 bytes
    CHECK(fresh.state.headers.size() == 1);
    std::string lots;
    for (int i = 0; i < 100; ++i) lots += "HX-" + std::to_string(i) + ": " + std::string(900, 'y') + "\n";
    fresh.run(Section::Rcpt, lots);
    CHECK(fresh.state.header_bytes <= 65536);
    CHECK(fresh.state.headers.size() < 80);
    fresh.state.clear_buffers();
    CHECK(fresh.state.headers.empty());
    CHECK(fresh.state.header_bytes == 0);
}

TEST_CASE("apply_run: L queues by the byte after L, validated, capped at 4 KiB") {
    Fixture fx;
    auto r = fx.run(Section::Connection, "LM451 m\nLR550-a\nLR550 b\nLD452 d\nLX550 x\nL\nLR250 ok\nLRbad\n");
    CHECK(fx.state.queue(Deferred::Mail) == std::vector<std::string>{"451 m"});
    CHECK(fx.state.queue(Deferred::Rcpt) == std::vector<std::string>{"550-a", "550 b"});
    CHECK(fx.state.queue(Deferred::Data) == std::vector<std::string>{"452 d"});
    CHECK(r.notes.size() == 2);   // the 250 and the malformed one; LX and L are silently ignored
    std::string flood;
    for (int i = 0; i < 100; ++i) flood += "LM550-" + std::string(60, 'z') + "\n";
    fx.run(Section::Connection, flood);
    std::size_t bytes = 0;
    for (const auto& l : fx.state.queue(Deferred::Mail)) bytes += l.size() + 2;
    CHECK(bytes <= 4096);
    CHECK(fx.state.queue(Deferred::Mail).size() > 10);
}

// ---- verdicts -----------------------------------------------------------------------

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

// Random outputs: whatever a program prints, the verdict is one well-formed reply (or none),
// limits hold, and nothing throws.
TEST_CASE("random outputs keep the invariants") {
    std::mt19937 rng(99);
    const std::string cmds = "AaNOERDPHCSULXx \r\n\0";
    const std::vector<std::string> args = {"", "550 x", "250-y", "4", "X-H: v", " fold", "a=b", "LR", "MTEXT",
                                           "R550 z", "D451 w", "foo@bar.example", "999 no", "PATH=/x"};
    for (int iter = 0; iter < 4000; ++iter) {
        std::string out;
        int lines = static_cast<int>(rng() % 12);
        for (int i = 0; i < lines; ++i) {
            out += cmds[rng() % cmds.size()];
            out += args[rng() % args.size()];
            if (rng() % 8) out += '\n';
        }
        Section sec = static_cast<Section>(rng() % 8);
        Fixture fx;
        auto sc = fx.scope(sec);
        sc.limits.max_lines = 8;
        RunFacts f;
        f.exit_status = rng() % 4 == 0 ? 120 : 0;
        f.term_signal = rng() % 10 == 0 ? 11 : 0;
        ChainResult r;
        bool trunc = rng() % 10 == 0;
        apply_run(prog(), parse_output(out, trunc, sc.limits), f, sc, r);
        auto plan = plan_verdict(sec, r);
        CHECK(fx.env.count("PATH") == 0);
        CHECK(fx.state.header_bytes <= sc.limits.max_header_bytes);
        if (plan.verdict.reply) {
            const auto& rep = *plan.verdict.reply;
            CHECK(rep.code >= 400);
            CHECK(rep.code <= 599);
            CHECK_FALSE(rep.lines.empty());
            std::string w = rep.wire(true);
            // exactly one reply: every line but the last has '-', all share the code
            std::size_t count = 0, pos = 0;
            while ((pos = w.find("\r\n", pos)) != std::string::npos) {
                ++count;
                pos += 2;
            }
            CHECK(count == rep.lines.size());
            CHECK(w.substr(0, 3) == std::to_string(rep.code));
        }
        if (r.kind == Kind::Failure) CHECK(plan.verdict.result == hooks::Result::DenySoft);
    }
}
