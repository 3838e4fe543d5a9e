// ctl_format.hpp - asmtpd-ctl's human-readable output of a control reply (the JSON fields are
// docs/OPERATIONS.md "Control socket").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace asmtpd::ctl {

// What to print on stdout for a reply with "ok": true to `command`.
std::string format_ok(const std::string& command, const nlohmann::json& body);
// What to print on stderr for "ok": false: the error, then each of "errors" indented.
std::string format_error(const nlohmann::json& body);

}  // namespace asmtpd::ctl
