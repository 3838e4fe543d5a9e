// karma.cpp - karma records and decisions; see karma.hpp.
#include "core/proto/karma.hpp"

#include <charconv>
#include <cstdio>
#include <limits>

namespace asmtpd::proto {

namespace {

constexpr std::uint64_t kDay = 86400;

// One decimal field up to ':' or the end; advances text past it (and its ':').
bool take_number(std::string_view& text, std::uint64_t& out, bool last) {
    const auto end = last ? text.size() : text.find(':');
    if (end == std::string_view::npos || end == 0 || end > 20) return false;
    for (std::size_t i = 0; i < end; ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + end, out);
    if (ec != std::errc() || p != text.data() + end) return false;
    text.remove_prefix(last ? end : end + 1);
    return true;
}

std::uint64_t plus_one(std::uint64_t n) { return n == std::numeric_limits<std::uint64_t>::max() ? n : n + 1; }

}  // namespace

std::int64_t KarmaRecord::history() const {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (nice >= naughty) {
        const std::uint64_t d = nice - naughty;
        return d > kMax ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(d);
    }
    const std::uint64_t d = naughty - nice;
    return d > kMax ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(d);
}

std::optional<KarmaRecord> parse_karma_record(std::string_view text) {
    KarmaRecord r;
    if (!take_number(text, r.naughty, false) || !take_number(text, r.nice, false) ||
        !take_number(text, r.connects, false) || !take_number(text, r.last_seen, true) || !text.empty())
        return std::nullopt;
    return r;
}

std::string format_karma_record(const KarmaRecord& r) {
    return std::to_string(r.naughty) + ":" + std::to_string(r.nice) + ":" + std::to_string(r.connects) + ":" +
           std::to_string(r.last_seen);
}

std::optional<std::uint64_t> parse_karma_penalty(std::string_view text) {
    std::uint64_t until = 0;
    if (!take_number(text, until, true) || !text.empty()) return std::nullopt;
    return until;
}

const char* karma_outcome_name(KarmaOutcome o) {
    switch (o) {
    case KarmaOutcome::Naughty: return "naughty";
    case KarmaOutcome::Nice: return "nice";
    case KarmaOutcome::Neutral: break;
    }
    return "neutral";
}

KarmaOutcome karma_outcome(std::int64_t score, std::int64_t strikes) {
    if (strikes < 1) strikes = 1;
    if (score <= -strikes) return KarmaOutcome::Naughty;
    if (score >= strikes) return KarmaOutcome::Nice;
    return KarmaOutcome::Neutral;
}

std::int64_t karma_start_score(const std::optional<KarmaRecord>& r) { return r && r->history() > 10 ? 1 : 0; }

KarmaUpdate karma_after_session(const std::optional<KarmaRecord>& current, std::int64_t score, bool immune,
                                std::uint64_t now, const KarmaSettings& s) {
    KarmaUpdate u;
    u.next = current.value_or(KarmaRecord{});
    u.next.connects = plus_one(u.next.connects);
    u.next.last_seen = now;
    u.outcome = karma_outcome(score, s.strikes);
    if (immune && u.outcome == KarmaOutcome::Naughty) u.outcome = KarmaOutcome::Neutral;
    if (u.outcome == KarmaOutcome::Nice) u.next.nice = plus_one(u.next.nice);
    if (u.outcome == KarmaOutcome::Naughty) u.next.naughty = plus_one(u.next.naughty);
    u.history = u.next.history();
    if (u.outcome != KarmaOutcome::Naughty) return u;
    const std::int64_t negative = s.negative < 1 ? 1 : s.negative;
    if (u.history > -negative) return u;
    std::uint64_t length = s.penalty_seconds;
    if (u.next.nice == 0 && u.history < -5) {
        // qpsmtpd: a sender that never sent anything good gets a day more per naughty session.
        const std::uint64_t extra_days = u.history < -3650 ? 3650 : static_cast<std::uint64_t>(-u.history);
        length += extra_days * kDay;
        u.bonus = true;
    }
    u.penalty_until = now + (length == 0 ? 1 : length);
    return u;
}

std::string karma_days_left(std::uint64_t until, std::uint64_t now) {
    const double days = until > now ? static_cast<double>(until - now) / kDay : 0.0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", days);
    return buf;
}

}  // namespace asmtpd::proto
