// spp_output_random_test.cpp - random outputs through plugins/spp/spp_output.cpp that must never
// break the invariants: one well-formed reply or none, limits respected, nothing thrown.
#include "plugins/spp/spp_output.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_output_fixture.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;
using namespace asmtpd::plugins::spp::output_test;

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

}  // namespace ASMTPD_TEST_UNIT
