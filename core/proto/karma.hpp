// karma.hpp - the karma plugin's record and decisions (qpsmtpd's karma): what an IP's history
// says, whether it is in the penalty box, and what one session adds to it.
//
// Record text (kept in the state store under "karma:IP"): "NAUGHTY:NICE:CONNECTS:LAST_SEEN",
// counts of naughty, nice and all sessions, and the Unix time of the last one. The penalty box
// is a second key ("karma:IP:penalty", value "UNTIL", the Unix time it ends, with a store TTL to
// match), so a session that ends later never overwrites a penalty another one gave.
// Decisions (qpsmtpd's, karma = the session's score, history = nice - naughty):
//   outcome:  karma <= -strikes -> naughty; karma >= strikes -> nice; else neutral
//   naughty and history (this session counted) <= -negative -> penalty box for penalty_days;
//   with no nice session at all and history < -5: |history| more days (qpsmtpd's "bonus")
//   at connect: history > 10 -> the session starts at karma +1
// Pure: no I/O, no clock (the caller passes now). The record comes from a store another
// instance may write, so parsing is strict and a bad record counts as none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::proto {

struct KarmaRecord {
    std::uint64_t naughty = 0;
    std::uint64_t nice = 0;
    std::uint64_t connects = 0;
    std::uint64_t last_seen = 0;
    bool operator==(const KarmaRecord&) const = default;
    // nice - naughty, saturated to the int64 range.
    std::int64_t history() const;
};

std::optional<KarmaRecord> parse_karma_record(std::string_view text);
std::string format_karma_record(const KarmaRecord& r);

// The penalty key's value: the end of the penalty, Unix seconds.
std::optional<std::uint64_t> parse_karma_penalty(std::string_view text);

struct KarmaSettings {
    std::int64_t negative = 1;            // qpsmtpd's default
    std::int64_t strikes = 1;             // qpsmtpd's is 3 (see docs/plugins.md, karma)
    std::uint64_t penalty_seconds = 86400;
};

enum class KarmaOutcome { Naughty, Neutral, Nice };
const char* karma_outcome_name(KarmaOutcome o);
KarmaOutcome karma_outcome(std::int64_t score, std::int64_t strikes);

// The score a session starts at, given its IP's record (qpsmtpd's calc_karma).
std::int64_t karma_start_score(const std::optional<KarmaRecord>& r);

struct KarmaUpdate {
    KarmaOutcome outcome = KarmaOutcome::Neutral;
    KarmaRecord next;                  // what to store
    std::int64_t history = 0;          // nice - naughty after this session
    std::uint64_t penalty_until = 0;   // != 0: put the IP in the penalty box until then
    bool bonus = false;                // the penalty got qpsmtpd's extra days
};

// What a session with `score` adds to `current` (none: a new IP). `immune` sessions (relay
// clients, authenticated, whitelisted) are never counted naughty.
KarmaUpdate karma_after_session(const std::optional<KarmaRecord>& current, std::int64_t score, bool immune,
                                std::uint64_t now, const KarmaSettings& s);

// "0.99": the days left of a penalty ending at `until`, two decimals (qpsmtpd's message).
std::string karma_days_left(std::uint64_t until, std::uint64_t now);

}  // namespace asmtpd::proto
