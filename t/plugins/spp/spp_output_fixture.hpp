// spp_output_fixture.hpp - the fixture of the spp output tests (spp_parse_output_test,
// spp_run_outcome_test, spp_side_effects_test, spp_verdict_test, spp_output_random_test): a
// program line, the environment, state and limits of one command, and one run of a program that
// printed given output, all on plugins/spp/spp_output.cpp without any process.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hooks/defaults.hpp"
#include "plugins/spp/spp_output.hpp"

namespace asmtpd::plugins::spp::output_test {

using Kind = ChainResult::Kind;

inline ProgramLine prog(std::string line = "/p1") {
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

inline std::string wire(hooks::Hook h, const hooks::Verdict& v) { return hooks::dispose(h, v).reply.wire(true); }

}  // namespace asmtpd::plugins::spp::output_test
