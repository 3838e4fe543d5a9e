// spp_side_effects_test.cpp - tests the side effects of one run in plugins/spp/spp_output.cpp
// (apply_run, SPP.md §2.2): their order, S and U rules and limits, C per section, H lines with
// folding and limits, and the deferred errors L queues.
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_output_fixture.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;
using namespace asmtpd::plugins::spp::output_test;

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

}  // namespace ASMTPD_TEST_UNIT
