// spp_program_policy.hpp - asmtpd.yaml's spp_programs section (SPP.md 5.2.3): per-program
// overrides for one exact smtpplugins line, kept in the main config so that smtpplugins stays
// byte-compatible with qmail-spp. The spp plugin owns the key (plugins/builtin.cpp).
//
//   spp_programs:
//     ":/usr/bin/rblspp -r zen.example": {timeout: 5, on_timeout: continue}
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "core/proto/setting_tree.hpp"

namespace asmtpd::plugins::spp {

struct ProgramPolicy {
    std::optional<std::chrono::milliseconds> timeout;   // instead of the spp line's timeout
    bool continue_on_timeout = false;   // fail open: a timed-out run counts as "no output"
};

// Reads the section into out (by the exact program line). Returns the first problem as
// "file:line: spp_programs.<line>.<key>: message", or nullopt. A null section is empty.
std::optional<std::string> parse_program_policies(const proto::SettingNode& section,
                                                  std::map<std::string, ProgramPolicy>& out);

}  // namespace asmtpd::plugins::spp
