// karma_note.hpp - the connection notes the karma and naughty plugins share with every other
// plugin (qpsmtpd's adjust_karma and store_deferred_reject).
//   karma_score          the session's karma, an integer ("0" when absent); karma sets it at
//                        connect and moves it on the deny/ok hooks; a tarpit reads it
//   naughty              a deferred refusal: "(plugin) reply" lines joined by CRLF, one per
//                        reason; the naughty plugin answers with it at its hook
//   naughty_reject_type  the result of the first deferred refusal ("DENY_DISCONNECT", ...)
// Owner: karma / naughty. Pure: reads and writes notes only.
#pragma once

#include <cstdint>
#include <string_view>

#include "hooks/context.hpp"
#include "hooks/result.hpp"

namespace asmtpd::plugins {

inline constexpr std::string_view kKarmaScoreNote = "karma_score";
inline constexpr std::string_view kNaughtyNote = "naughty";
inline constexpr std::string_view kNaughtyTypeNote = "naughty_reject_type";

// The karma_score note as a number (0 when absent or unreadable).
std::int64_t karma_score(const hooks::Notes& notes);
// Adds delta to karma_score (written even when the karma plugin is not loaded: harmless, and a
// karma listed later still sees what came before it). Returns the new score.
std::int64_t adjust_karma(hooks::Context& ctx, std::int64_t delta);

// Appends "(plugin) reply" to the naughty note unless that line is there already (a check run
// per RCPT notes its reason once), and sets naughty_reject_type if no reason set it before.
// Returns true when the line is new.
bool mark_naughty(hooks::Context& ctx, std::string_view plugin, std::string_view reply, hooks::Result type);

}  // namespace asmtpd::plugins
