// program_policy.hpp - per-program settings for external plugin programs, read from
// asmtpd.yaml by core/smtp/settings and handed to plugins through ServerFacts. A value type only.
#pragma once

#include <chrono>
#include <optional>

namespace asmtpd::hooks {

// asmtpd.yaml spp_programs: per-program overrides for one exact smtpplugins line (SPP.md
// 5.2.3), kept in the main config so that smtpplugins stays byte-compatible with qmail-spp.
struct ProgramPolicy {
    std::optional<std::chrono::milliseconds> timeout;   // instead of the spp line's timeout
    bool continue_on_timeout = false;   // fail open: a timed-out run counts as "no output"
};

}  // namespace asmtpd::hooks
