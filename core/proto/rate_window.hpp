// rate_window.hpp - a sliding-window event counter in bounded space (the state store's
// WindowAdd / WindowCount, used by limit's rate_conn): O(1) work and a fixed-size record per key,
// whatever the rate.
//
// A window of W ms is cut into kRateBuckets buckets of B = ceil(W / kRateBuckets) ms, aligned
// on the clock (bucket i covers [i*B, (i+1)*B)). An event adds 1 to the bucket of its time.
// The count at `now` covers (now - W, now]: every bucket wholly inside it counts in full; the
// oldest bucket, which the window's start cuts, counts in proportion to the part of it inside
// the window (floor of count * covered / B), as if its events were spread evenly.
// Error bound: the count differs from the exact number of events in (now - W, now] by less than
// the events of that one oldest bucket, i.e. those of a B-long slice (W / kRateBuckets) at the
// window's start: at a steady rate, under 1/kRateBuckets (5%) of the window's events. An event
// more than W + B old never counts.
// Clock: the caller's (ms). A time older than the newest bucket (clock stepped back) counts in
// the newest bucket. The Redis backend keeps the same buckets as hash fields (below) and does
// the same arithmetic here, on the server's clock (core/io/redis_store.cpp); tests hold both
// backends to the same answers.
// Pure: no I/O, no clock. The record comes from a store another process may write, so parsing
// is strict and a bad record counts as an empty window.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asmtpd::proto {

inline constexpr std::size_t kRateBuckets = 20;

struct RateWindow {
    std::uint64_t width_ms = 0;   // B; 0: empty (no bucket yet)
    std::uint64_t head = 0;       // index (time / B) of the newest bucket
    std::array<std::uint32_t, kRateBuckets + 1> counts{};   // counts[i]: bucket head - i
    bool operator==(const RateWindow&) const = default;
};

// B for a window of window_ms (at least 1).
std::uint64_t rate_bucket_ms(std::uint64_t window_ms);

// Records one event at now_ms; returns the count afterwards (the new event included).
// A window kept with another width (the period changed) starts over.
std::int64_t rate_window_add(RateWindow& w, std::uint64_t now_ms, std::uint64_t window_ms);

// The count at now_ms without recording anything.
std::int64_t rate_window_count(const RateWindow& w, std::uint64_t now_ms, std::uint64_t window_ms);

// The record: width, head (8 bytes each, little-endian), then kRateBuckets + 1 counts of 4 bytes.
std::string format_rate_window(const RateWindow& w);
std::optional<RateWindow> parse_rate_window(std::string_view bytes);

// The Redis form of a window: a hash with a field per bucket, named "INDEX@WIDTH" (decimal),
// holding the bucket's count. Events go in by HINCRBY, so every instance adds to the same
// hash without a script; a count reads the whole hash (HGETALL) and is worked out here.
std::string rate_field_name(std::uint64_t index, std::uint64_t width_ms);

struct RateFields {
    RateWindow window;                     // the buckets of this width within reach of now
    std::vector<std::string_view> stale;   // fields to delete: another width, out of reach, not ours
};
// fields: HGETALL's answer, name and value. A value that is no count reads as 0. A field more
// than a window ahead of now_ms (a clock far off) is stale, so it cannot push the others out.
RateFields rate_window_from_fields(std::span<const std::pair<std::string_view, std::string_view>> fields,
                                   std::uint64_t now_ms, std::uint64_t window_ms);

}  // namespace asmtpd::proto
