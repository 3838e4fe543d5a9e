// spp_run_outcome_test.cpp - tests the outcome of one run in plugins/spp/spp_output.cpp
// (apply_run, SPP.md §2.3): the exit code, the fate of the child before its output,
// terminators, ignored commands and malformed replies [D].
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_output_fixture.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;
using namespace asmtpd::plugins::spp::output_test;

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

}  // namespace ASMTPD_TEST_UNIT
