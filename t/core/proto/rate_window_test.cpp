// rate_window_test.cpp - tests core/proto/rate_window.cpp: bucket width, exact counts inside the
// window, the weighted oldest bucket and its error bound against an exact list of event times,
// expiry, a clock that steps back, a changed period, and the record format.
#include "core/proto/rate_window.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {
constexpr std::uint64_t kT0 = 1699999920000;   // ms, a multiple of every width used here (180 000)
constexpr std::uint64_t kMinute = 60000;
}  // namespace

TEST_CASE("rate window: bucket width is ceil(window / buckets), at least 1 ms") {
    CHECK(kRateBuckets == 20);
    CHECK(rate_bucket_ms(60000) == 3000);
    CHECK(rate_bucket_ms(60001) == 3001);
    CHECK(rate_bucket_ms(150) == 8);
    CHECK(rate_bucket_ms(1) == 1);
    CHECK(rate_bucket_ms(0) == 1);
}

TEST_CASE("rate window: events inside the window count exactly; the count includes the new event") {
    RateWindow w;
    CHECK(rate_window_count(w, kT0, kMinute) == 0);
    CHECK(rate_window_add(w, kT0, kMinute) == 1);
    CHECK(rate_window_add(w, kT0, kMinute) == 2);
    CHECK(rate_window_add(w, kT0 + 10000, kMinute) == 3);
    CHECK(rate_window_count(w, kT0 + 10000, kMinute) == 3);
    // 50 s later every event is still in a bucket wholly inside (now - 60 s, now].
    CHECK(rate_window_count(w, kT0 + 50000, kMinute) == 3);
    // Counting changes nothing.
    CHECK(rate_window_count(w, kT0 + 50000, kMinute) == 3);
}

TEST_CASE("rate window: the oldest bucket counts by the part of it inside the window") {
    RateWindow w;
    for (int i = 0; i < 100; ++i) rate_window_add(w, kT0, kMinute);   // bucket [T0, T0 + 3 s)
    CHECK(rate_window_count(w, kT0 + 59999, kMinute) == 100);          // window starts at T0 - 1
    CHECK(rate_window_count(w, kT0 + 60000, kMinute) == 100);          // start T0: all 3 s covered
    CHECK(rate_window_count(w, kT0 + 61500, kMinute) == 50);           // half the bucket covered
    CHECK(rate_window_count(w, kT0 + 62999, kMinute) == 0);            // 1 ms of 3000: floor(0.03)
    CHECK(rate_window_count(w, kT0 + 63000, kMinute) == 0);            // wholly out
    CHECK(rate_window_add(w, kT0 + 200000, kMinute) == 1);             // long after: only the new one
}

TEST_CASE("rate window: against an exact window, the error stays within the oldest bucket's events") {
    std::mt19937_64 rng(14);
    for (std::uint64_t window : {150ull, 1000ull, 60000ull, 3600000ull}) {
        RateWindow w;
        std::deque<std::uint64_t> events;   // every event of the last window + one bucket
        std::uint64_t now = kT0;
        const std::uint64_t width = rate_bucket_ms(window);
        int bad = 0;
        for (int i = 0; i < 20000 && bad < 5; ++i) {
            // Bursts and gaps: mostly short steps, sometimes up to a tenth of the window.
            now += rng() % 4 == 0 ? rng() % (window / 10 + 1) : rng() % (window / 200 + 1);
            const std::int64_t got = rate_window_add(w, now, window);
            events.push_back(now);
            while (events.front() + window + width <= now) events.pop_front();
            const std::uint64_t start = now - window;   // the window is (start, now]
            std::int64_t exact = 0, oldest = 0;
            for (std::uint64_t t : events) {
                if (t > start) ++exact;
                if (t / width == start / width) ++oldest;
            }
            CHECK(got <= exact + oldest);
            CHECK(got >= exact - oldest);
            if (got > exact + oldest || got < exact - oldest) ++bad;
            // The count never reads more than every event it could hold.
            CHECK(got <= static_cast<std::int64_t>(events.size()));
        }
    }
}

TEST_CASE("rate window: a steady rate reads within one bucket of the true count") {
    RateWindow w;
    std::int64_t got = 0;
    for (std::uint64_t t = 0; t < 3 * kMinute; t += 100) got = rate_window_add(w, kT0 + t, kMinute);
    // 10 events a second: 600 in any minute; the estimate is off by at most a bucket (30).
    CHECK(got >= 570);
    CHECK(got <= 630);
}

TEST_CASE("rate window: a clock that steps back counts in the newest bucket; a new period starts over") {
    RateWindow w;
    rate_window_add(w, kT0 + 10000, kMinute);
    CHECK(rate_window_add(w, kT0, kMinute) == 2);   // 10 s back: still counted
    CHECK(w.head == (kT0 + 10000) / 3000);
    CHECK(rate_window_count(w, kT0, kMinute) == 2);
    // The same key read with another period (the config changed): an empty window.
    CHECK(rate_window_count(w, kT0 + 10000, 2 * kMinute) == 0);
    CHECK(rate_window_add(w, kT0 + 10000, 2 * kMinute) == 1);
    CHECK(w.width_ms == 6000);
}

TEST_CASE("rate window: the record round-trips, strictly sized, never with a zero width") {
    RateWindow w;
    for (int i = 0; i < 7; ++i) rate_window_add(w, kT0 + 4000 * static_cast<std::uint64_t>(i), kMinute);
    const std::string rec = format_rate_window(w);
    CHECK(rec.size() == 16 + 4 * (kRateBuckets + 1));
    auto back = parse_rate_window(rec);
    REQUIRE(back);
    CHECK(*back == w);
    CHECK(rate_window_count(*back, kT0 + 30000, kMinute) == 7);
    CHECK_FALSE(parse_rate_window(""));
    CHECK_FALSE(parse_rate_window(rec.substr(1)));
    CHECK_FALSE(parse_rate_window(rec + "x"));
    std::string zero = rec;
    for (int i = 0; i < 8; ++i) zero[static_cast<std::size_t>(i)] = 0;
    CHECK_FALSE(parse_rate_window(zero));
    // An old-format record (8-byte event times) is not a window: it reads as empty.
    CHECK_FALSE(parse_rate_window(std::string(800, '\1')));
}

namespace {
// The Redis form of the same events: HINCRBY on "INDEX@WIDTH" fields.
struct FieldWindow {
    std::map<std::string, std::string> fields;
    void add(std::uint64_t now, std::uint64_t window) {
        const auto width = rate_bucket_ms(window);
        auto& v = fields[rate_field_name(now / width, width)];
        v = std::to_string((v.empty() ? 0 : std::stoull(v)) + 1);
    }
    std::vector<std::pair<std::string_view, std::string_view>> pairs() const {
        std::vector<std::pair<std::string_view, std::string_view>> out;
        for (const auto& [k, v] : fields) out.emplace_back(k, v);
        return out;
    }
    std::int64_t count(std::uint64_t now, std::uint64_t window) const {
        const auto p = pairs();
        return rate_window_count(rate_window_from_fields(p, now, window).window, now, window);
    }
};
}  // namespace

TEST_CASE("rate window, Redis fields: the same counts as the record, at every step of random traffic") {
    std::mt19937_64 rng(7);
    for (std::uint64_t window : {kMinute, std::uint64_t{150}, std::uint64_t{3600000}}) {
        RateWindow record;
        FieldWindow hash;
        std::uint64_t now = kT0;
        for (int i = 0; i < 3000; ++i) {
            now += rng() % (window / 10 + 1);
            if (rng() % 4) {
                const auto added = rate_window_add(record, now, window);
                hash.add(now, window);
                REQUIRE(hash.count(now, window) == added);
            } else {
                REQUIRE(hash.count(now, window) == rate_window_count(record, now, window));
            }
        }
    }
}

TEST_CASE("rate window, Redis fields: what is stale - out of reach, another width, not a bucket, far ahead") {
    const std::uint64_t width = rate_bucket_ms(kMinute);   // 3 000
    const std::uint64_t now = kT0 + 30000;
    const std::string current = rate_field_name(now / width, width), old = rate_field_name(now / width - 21, width),
                      edge = rate_field_name(now / width - 20, width), other = rate_field_name(now / 6000, 6000),
                      ahead = rate_field_name(now / width + 21, width), near = rate_field_name(now / width + 2, width),
                      junk = rate_field_name(now / width - 1, width);
    std::vector<std::pair<std::string_view, std::string_view>> f = {
        {current, "3"}, {old, "5"}, {edge, "4"}, {other, "9"}, {"w", "3000"}, {"h", "1"},
        {ahead, "7"}, {near, "2"}, {"12@x", "1"}, {junk, "junk"}};
    auto r = rate_window_from_fields(f, now, kMinute);
    std::vector<std::string> stale(r.stale.begin(), r.stale.end());
    std::sort(stale.begin(), stale.end());
    // With `near` 2 buckets ahead as the head, `edge` (20 behind now) is 22 behind it: out of reach too.
    std::vector<std::string> want = {other, "w", "h", ahead, "12@x", edge, old};
    std::sort(want.begin(), want.end());
    CHECK(stale == want);
    CHECK(r.window.width_ms == width);
    CHECK(r.window.head == now / width + 2);
    CHECK(r.window.counts[0] == 2);
    CHECK(r.window.counts[2] == 3);
    CHECK(r.window.counts[3] == 0);   // "junk" reads as 0
    // Nothing at all: an empty window of this width.
    r = rate_window_from_fields({}, now, kMinute);
    CHECK(r.stale.empty());
    CHECK(rate_window_count(r.window, now, kMinute) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
