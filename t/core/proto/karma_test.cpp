// karma_test.cpp - tests core/proto/karma.cpp: the record format, the session outcome, the
// penalty box decision (strikes, negative, penalty_days, qpsmtpd's bonus) and the start score.
#include "core/proto/karma.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {
constexpr std::uint64_t kNow = 1700000000;
}

TEST_CASE("karma record: NAUGHTY:NICE:CONNECTS:LAST_SEEN, strictly") {
    auto r = parse_karma_record("2:5:9:1700000000");
    REQUIRE(r);
    CHECK(*r == KarmaRecord{2, 5, 9, 1700000000});
    CHECK(r->history() == 3);
    CHECK(format_karma_record(*r) == "2:5:9:1700000000");
    for (const char* bad : {"", "1:2:3", "1:2:3:4:5", "a:1:1:1", "1::1:1", "1:2:3:", "-1:1:1:1", " 1:1:1:1",
                            "1:1:1:1 ", "99999999999999999999999:1:1:1"})
        CHECK_MESSAGE(!parse_karma_record(bad), bad);
    CHECK(KarmaRecord{18446744073709551615ull, 0, 0, 0}.history() < 0);
    CHECK(KarmaRecord{0, 18446744073709551615ull, 0, 0}.history() > 0);
    CHECK(parse_karma_penalty("1700086400") == 1700086400ull);
    CHECK_FALSE(parse_karma_penalty("17000x"));
    CHECK_FALSE(parse_karma_penalty(""));
}

TEST_CASE("karma outcome: at or past strikes either way, neutral between") {
    CHECK(karma_outcome(0, 1) == KarmaOutcome::Neutral);
    CHECK(karma_outcome(1, 1) == KarmaOutcome::Nice);
    CHECK(karma_outcome(-1, 1) == KarmaOutcome::Naughty);
    CHECK(karma_outcome(-2, 3) == KarmaOutcome::Neutral);
    CHECK(karma_outcome(-3, 3) == KarmaOutcome::Naughty);
    CHECK(karma_outcome(3, 3) == KarmaOutcome::Nice);
    CHECK(std::string(karma_outcome_name(KarmaOutcome::Naughty)) == "naughty");
}

TEST_CASE("karma after a session: counts, last seen, and the penalty box at -negative") {
    const KarmaSettings s{1, 1, 86400};
    // A new IP with a refused session: naughty 1, history -1 <= -1: penalty box for a day.
    auto u = karma_after_session(std::nullopt, -1, false, kNow, s);
    CHECK(u.outcome == KarmaOutcome::Naughty);
    CHECK(u.next == KarmaRecord{1, 0, 1, kNow});
    CHECK(u.history == -1);
    CHECK(u.penalty_until == kNow + 86400);
    CHECK_FALSE(u.bonus);
    // A good session: nice, no penalty.
    u = karma_after_session(KarmaRecord{0, 0, 3, 5}, 1, false, kNow, s);
    CHECK(u.outcome == KarmaOutcome::Nice);
    CHECK(u.next == KarmaRecord{0, 1, 4, kNow});
    CHECK(u.penalty_until == 0);
    // A neutral one only counts the connection.
    u = karma_after_session(KarmaRecord{1, 1, 2, 5}, 0, false, kNow, s);
    CHECK(u.outcome == KarmaOutcome::Neutral);
    CHECK(u.next == KarmaRecord{1, 1, 3, kNow});
    // A good history absorbs a bad session (qpsmtpd: 1 nice - 1 naughty = 0, okay).
    u = karma_after_session(KarmaRecord{0, 1, 1, 5}, -1, false, kNow, s);
    CHECK(u.outcome == KarmaOutcome::Naughty);
    CHECK(u.history == 0);
    CHECK(u.penalty_until == 0);
}

TEST_CASE("karma strikes and negative: how bad a session, how many bad sessions") {
    const KarmaSettings s{2, 2, 3600};
    auto u = karma_after_session(std::nullopt, -1, false, kNow, s);   // one strike: neutral
    CHECK(u.outcome == KarmaOutcome::Neutral);
    CHECK(u.penalty_until == 0);
    u = karma_after_session(u.next, -2, false, kNow, s);              // two: naughty, history -1
    CHECK(u.outcome == KarmaOutcome::Naughty);
    CHECK(u.penalty_until == 0);
    u = karma_after_session(u.next, -5, false, kNow, s);              // again: history -2 = -negative
    CHECK(u.history == -2);
    CHECK(u.penalty_until == kNow + 3600);
}

TEST_CASE("karma: immune sessions are never naughty; fractions of days; qpsmtpd's bonus") {
    const KarmaSettings s{1, 1, 43200};
    auto u = karma_after_session(std::nullopt, -4, true, kNow, s);
    CHECK(u.outcome == KarmaOutcome::Neutral);
    CHECK(u.penalty_until == 0);
    u = karma_after_session(KarmaRecord{5, 0, 5, 1}, -1, false, kNow, s);   // history -6, never nice
    CHECK(u.bonus);
    CHECK(u.penalty_until == kNow + 43200 + 6 * 86400);
    u = karma_after_session(KarmaRecord{7, 1, 8, 1}, -1, false, kNow, s);   // history -7 but once nice
    CHECK_FALSE(u.bonus);
    CHECK(u.penalty_until == kNow + 43200);
}

TEST_CASE("karma start score and days left") {
    CHECK(karma_start_score(std::nullopt) == 0);
    CHECK(karma_start_score(KarmaRecord{0, 10, 10, 1}) == 0);
    CHECK(karma_start_score(KarmaRecord{0, 11, 11, 1}) == 1);
    CHECK(karma_days_left(kNow + 86400 - 864, kNow) == "0.99");
    CHECK(karma_days_left(kNow, kNow + 5) == "0.00");
}

}  // namespace ASMTPD_TEST_UNIT
