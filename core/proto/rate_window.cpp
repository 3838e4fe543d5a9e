// rate_window.cpp - bucketed sliding window arithmetic; see rate_window.hpp.
#include "core/proto/rate_window.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/proto/plugin_args.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kRecordSize = 16 + 4 * (kRateBuckets + 1);

// Moves the newest bucket to now's (older buckets shift out); never backwards.
void advance(RateWindow& w, std::uint64_t now_ms, std::uint64_t width) {
    if (w.width_ms != width) w = RateWindow{width, now_ms / width, {}};
    const std::uint64_t b = now_ms / width;
    if (b <= w.head) return;
    const std::uint64_t shift = b - w.head;
    if (shift > kRateBuckets) {
        w.counts.fill(0);
    } else {
        for (std::size_t i = kRateBuckets + 1; i-- > shift;) w.counts[i] = w.counts[i - shift];
        std::fill(w.counts.begin(), w.counts.begin() + static_cast<std::ptrdiff_t>(shift), 0u);
    }
    w.head = b;
}

std::int64_t count_advanced(const RateWindow& w, std::uint64_t now_ms, std::uint64_t window_ms) {
    const std::uint64_t width = w.width_ms;
    // A clock behind the newest bucket reads as the start of that bucket.
    const std::uint64_t now = std::max(now_ms, w.head * width);
    const std::uint64_t start = now > window_ms ? now - window_ms : 0;   // the window is (start, now]
    const std::uint64_t oldest = start / width;
    std::int64_t sum = 0;
    for (std::size_t i = 0; i <= kRateBuckets && i <= w.head; ++i) {
        const std::uint64_t idx = w.head - i;
        if (idx > oldest) {
            sum += w.counts[i];
        } else if (idx == oldest) {
            const std::uint64_t covered = (idx + 1) * width - start;   // in (0, width]
            sum += static_cast<std::int64_t>(std::floor(static_cast<double>(w.counts[i]) *
                                                        static_cast<double>(covered) / static_cast<double>(width)));
        }
    }
    return sum;
}

void put(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    return v;
}

}  // namespace

std::uint64_t rate_bucket_ms(std::uint64_t window_ms) {
    return std::max<std::uint64_t>(1, (window_ms + kRateBuckets - 1) / kRateBuckets);
}

std::int64_t rate_window_add(RateWindow& w, std::uint64_t now_ms, std::uint64_t window_ms) {
    advance(w, now_ms, rate_bucket_ms(window_ms));
    if (w.counts[0] < std::numeric_limits<std::uint32_t>::max()) ++w.counts[0];
    return count_advanced(w, now_ms, window_ms);
}

std::int64_t rate_window_count(const RateWindow& w, std::uint64_t now_ms, std::uint64_t window_ms) {
    if (w.width_ms == 0) return 0;
    RateWindow copy = w;
    advance(copy, now_ms, rate_bucket_ms(window_ms));
    return count_advanced(copy, now_ms, window_ms);
}

std::string format_rate_window(const RateWindow& w) {
    std::string out;
    out.reserve(kRecordSize);
    put(out, w.width_ms, 8);
    put(out, w.head, 8);
    for (auto c : w.counts) put(out, c, 4);
    return out;
}

std::optional<RateWindow> parse_rate_window(std::string_view bytes) {
    if (bytes.size() != kRecordSize) return std::nullopt;
    RateWindow w;
    w.width_ms = get(bytes, 0, 8);
    w.head = get(bytes, 8, 8);
    if (w.width_ms == 0 || w.head > std::numeric_limits<std::uint64_t>::max() / w.width_ms) return std::nullopt;
    for (std::size_t i = 0; i < w.counts.size(); ++i) w.counts[i] = static_cast<std::uint32_t>(get(bytes, 16 + 4 * i, 4));
    return w;
}

std::string rate_field_name(std::uint64_t index, std::uint64_t width_ms) {
    return std::to_string(index) + "@" + std::to_string(width_ms);
}

RateFields rate_window_from_fields(std::span<const std::pair<std::string_view, std::string_view>> fields,
                                   std::uint64_t now_ms, std::uint64_t window_ms) {
    const std::uint64_t width = rate_bucket_ms(window_ms);
    const std::uint64_t now_index = now_ms / width;
    const std::uint64_t reach = now_index + kRateBuckets;   // a window ahead at most
    RateFields out;
    struct Bucket {
        std::uint64_t index, count;
        std::string_view name;
    };
    std::vector<Bucket> buckets;
    std::uint64_t head = now_index;
    for (const auto& [name, value] : fields) {
        const auto at = name.find('@');
        const auto index = at == std::string_view::npos ? std::nullopt : parse_count(name.substr(0, at));
        const auto w = at == std::string_view::npos ? std::nullopt : parse_count(name.substr(at + 1));
        if (!index || !w || *w != width || *index > reach) {
            out.stale.push_back(name);
            continue;
        }
        buckets.push_back({*index, parse_count(value).value_or(0), name});
        head = std::max(head, *index);
    }
    out.window = RateWindow{width, head, {}};
    for (const Bucket& b : buckets) {
        if (head - b.index > kRateBuckets) {
            out.stale.push_back(b.name);
            continue;
        }
        auto& c = out.window.counts[head - b.index];
        c = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(std::uint64_t{c} + b.count, std::numeric_limits<std::uint32_t>::max()));
    }
    return out;
}

}  // namespace asmtpd::proto
