// rate_window_fuzz.cpp - libFuzzer target for core/proto/rate_window.cpp. The input is a window
// record as the embedded store returns it (whatever another process wrote under the key).
// Invariants: a record that parses prints to the same bytes; counting never reads below 0 nor
// above the sum of the buckets; an add counts at least the new event, and its record parses.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>

#include "core/proto/rate_window.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto w = parse_rate_window(in);
    if (!w) return 0;
    FUZZ_CHECK(format_rate_window(*w) == in);
    // Real widths are at most a 20th of a year; the clock (head * width) stays far below 2^50.
    if (w->width_ms > (1ull << 32) || w->head > (1ull << 50) / w->width_ms) return 0;
    const std::int64_t total = std::accumulate(w->counts.begin(), w->counts.end(), std::int64_t{0});
    for (std::uint64_t window : {w->width_ms * kRateBuckets, std::uint64_t{60000}}) {
        for (std::uint64_t now : {std::uint64_t{0}, w->head * w->width_ms, w->head * w->width_ms + window / 2,
                                  w->head * w->width_ms + 2 * window}) {
            const std::int64_t n = rate_window_count(*w, now, window);
            FUZZ_CHECK(n >= 0 && n <= total);
            RateWindow copy = *w;
            const std::int64_t added = rate_window_add(copy, now, window);
            FUZZ_CHECK(added >= 1 && added <= total + 1);
            FUZZ_CHECK(parse_rate_window(format_rate_window(copy)).has_value());
        }
    }
    return 0;
}
