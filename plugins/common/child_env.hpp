// child_env.hpp - the environment a qmail-style helper program (qmail-queue, checkpassword) is
// started with: what tcpserver would have given it, then the per-client map, then the plugin's
// own `env NAME=VALUE` arguments; and the parsing of those arguments. Never the server's environ (it may hold credentials).
//
// Must never: pass a name that is not a shell identifier or a value holding a NUL (the child
// would see a truncated or forged variable). Pure functions, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/connection_info.hpp"

namespace asmtpd::plugins {

using EnvMap = std::map<std::string, std::string>;

// [A-Za-z_][A-Za-z0-9_]*
bool valid_env_name(std::string_view name);
// Names no plugin (spp S/U, a .so's set_env) may change: PATH, LD_* and the plugin's own list.
// One rule for every kind of external plugin, so spp and dso can never drift apart.
bool protected_env_name(std::string_view name, const std::vector<std::string>& extra = {});

// Adds "NAME=VALUE" (a plugin argument) to `into`; an error text when it is malformed.
std::optional<std::string> add_env_assignment(std::string_view assignment, EnvMap& into);

// The options every helper-program plugin takes before or around its program: "timeout SECS"
// and "env NAME=VALUE". take_child_option expects is_child_option(args[i]): it applies the word
// with its value and leaves i on the value; an error text when the value is missing or bad.
bool is_child_option(std::string_view word);
std::optional<std::string> take_child_option(const std::vector<std::string>& args, std::size_t& i,
                                             std::uint64_t& timeout_ms, EnvMap& env);

// PATH, PROTO=TCP, TCPLOCALIP/PORT, TCPREMOTEIP/PORT, TCPREMOTEHOST when known, RELAYCLIENT=""
// when the client may relay, then conn.env, then extra (later entries win), as "NAME=value".
std::vector<std::string> tcpserver_environment(const proto::ConnectionInfo& conn, const EnvMap& extra);

}  // namespace asmtpd::plugins
