// rate_fields_fuzz.cpp - libFuzzer target for core/proto/rate_window.cpp's Redis form
// (rate_window_from_fields). The input is a hash as HGETALL returns it, one "NAME VALUE" pair a
// line (whatever another instance or another program wrote under the key).
// Invariants: every stale name is one of the input's; no field is both counted and stale; the
// count never goes below 0 nor above what the counted fields hold; an add's field is counted.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/proto/rate_window.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    while (!in.empty() && fields.size() < 200) {
        const auto eol = in.find('\n');
        std::string_view line = in.substr(0, eol);
        in = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
        const auto sp = line.find(' ');
        fields.emplace_back(line.substr(0, sp), sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1));
    }
    std::set<std::string_view> names;
    for (const auto& f : fields) names.insert(f.first);
    for (std::uint64_t window : {std::uint64_t{60000}, std::uint64_t{150}}) {
        for (std::uint64_t now : {std::uint64_t{0}, std::uint64_t{1699999920000}, std::uint64_t{1} << 50}) {
            const RateFields r = rate_window_from_fields(fields, now, window);
            for (auto s : r.stale) FUZZ_CHECK(names.count(s) == 1);
            std::uint64_t held = 0;
            for (auto c : r.window.counts) held += c;
            const std::int64_t n = rate_window_count(r.window, now, window);
            FUZZ_CHECK(n >= 0 && static_cast<std::uint64_t>(n) <= held);
            // The bucket an add at now goes to is never stale.
            const std::string mine = rate_field_name(now / rate_bucket_ms(window), rate_bucket_ms(window));
            for (auto s : r.stale) FUZZ_CHECK(s != mine || names.count(mine) == 1);
        }
    }
    return 0;
}
