// client_env_fuzz.cpp - libFuzzer target for core/smtp/client_env.cpp, the tcp.env parser
// (tcprules source: "address:allow|deny,VAR=value,..."). The file is the administrator's, but
// a parser that crashes on a typo would take the daemon down at a reload.
// Invariants: every error names file:line; every rule kept has a valid action and variable
// names without '=' or NUL; a lookup of any address never crashes and returns a kept rule;
// parsing is deterministic.
// fuzz-sources: core/smtp/client_env.cpp
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/smtp/client_env.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> errors;
    auto env = smtp::ClientEnv::parse(in, "tcp.env", errors);
    for (const auto& e : errors) FUZZ_CHECK(e.rfind("tcp.env:", 0) == 0);

    for (const auto& r : env.rules()) {
        FUZZ_CHECK(r.where.rfind("tcp.env:", 0) == 0);
        for (const auto& [name, value] : r.vars) {
            FUZZ_CHECK(!name.empty());
            FUZZ_CHECK(name.find('=') == std::string::npos);
            FUZZ_CHECK(name.find('\0') == std::string::npos);
        }
    }

    // Look up a few fixed clients and every rule's own address: whatever matches is a kept rule.
    std::vector<std::string> probes = {"127.0.0.1", "192.0.2.7", "10.1.2.3", "::1", "2001:db8::5", "::ffff:10.0.0.1"};
    for (const auto& r : env.rules()) probes.push_back(r.address);
    for (const auto& ip : probes) {
        for (std::string_view host : {std::string_view(), std::string_view("mx.example.com")}) {
            auto m = env.lookup(ip, host);
            if (m.rule) {
                FUZZ_CHECK(m.rule >= env.rules().data() && m.rule < env.rules().data() + env.rules().size());
                FUZZ_CHECK(m.allowed == m.rule->allow);
            } else {
                FUZZ_CHECK(m.allowed && m.vars.empty());
            }
        }
    }

    std::vector<std::string> errors2;
    auto again = smtp::ClientEnv::parse(in, "tcp.env", errors2);
    FUZZ_CHECK(errors2 == errors && again.size() == env.size());
    return 0;
}
