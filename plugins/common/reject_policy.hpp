// reject_policy.hpp - qpsmtpd's per-plugin `reject` / `reject_type` convention (get_reject):
//   reject 0        log the failure, let the session go on (DECLINED)
//   reject 1        refuse with the reject_type
//   reject naughty  defer: the reply text is appended (once) to the connection note "naughty" (and
//                   the type to "naughty_reject_type") for the naughty plugin to act on, and the
//                   session's karma_score goes down by one (plugins/common/karma_note.hpp); DECLINED
//   reject_type     perm|hard = DENY, temp|soft = DENYSOFT, disconnect = DENY_DISCONNECT,
//                   temp_disconnect = DENYSOFT_DISCONNECT
// Defaults differ per plugin (helo: 1 + disconnect, fcrdns: 0 + temp, ...), so each plugin
// passes its own. Owner: the policy plugins (dnsbl, rhsbl, fcrdns, helo, resolvable_fromhost).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/plugin_args.hpp"
#include "hooks/context.hpp"
#include "hooks/result.hpp"
#include "plugins/common/karma_note.hpp"

namespace asmtpd::plugins {


struct RejectPolicy {
    enum class Mode { log_only, reject, naughty };
    Mode mode = Mode::reject;
    hooks::Result type = hooks::Result::Deny;

    // Reads "reject" and "reject_type" from parsed arguments, over the given defaults.
    // Returns an error text for a value qpsmtpd would not know.
    std::optional<std::string> read(const proto::ArgPairs& args);

    // qpsmtpd's get_reject: logs "fail[, tolerated|, NAUGHTY], <log>" and gives the verdict.
    hooks::Verdict apply(hooks::Context& ctx, std::string_view plugin, std::string reply, std::string_view log) const;
};

// The words every policy plugin takes: "reject", "reject_type" and "timeout SECONDS", among
// `keys` (which also hold the plugin's own keys, read from `args` afterwards). policy and
// timeout_ms keep the plugin's defaults for what is not given.
std::optional<std::string> read_policy_args(const std::vector<std::string>& words,
                                            std::initializer_list<std::string_view> keys, proto::ArgPairs& args,
                                            RejectPolicy& policy, std::optional<std::uint64_t>& timeout_ms);

// "perm", "temp", ... -> the result; nullopt for anything else.
std::optional<hooks::Result> reject_type_from_string(std::string_view s);

}  // namespace asmtpd::plugins
