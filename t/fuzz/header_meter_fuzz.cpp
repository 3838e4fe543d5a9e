// header_meter_fuzz.cpp - libFuzzer target for core/proto/header_meter.cpp.
// The first byte picks a split point; the rest is decoded message content. Whole, split and
// byte-by-byte feeding must agree exactly, the header never counts more octets than were fed,
// and once the block has ended nothing more is counted.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/header_meter.hpp"
#include "t/fuzz/fuzz_check.hpp"

using asmtpd::proto::HeaderMeter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);

    HeaderMeter whole;
    std::size_t used = whole.feed(in);
    FUZZ_CHECK(used <= in.size());
    FUZZ_CHECK(whole.bytes() <= used);
    if (!whole.ended()) FUZZ_CHECK(used == in.size());

    HeaderMeter split;
    std::size_t u1 = split.feed(in.substr(0, cut));
    std::size_t u2 = split.feed(in.substr(cut));
    if (u1 < cut) FUZZ_CHECK(u2 == 0);
    FUZZ_CHECK(split.bytes() == whole.bytes() && split.lines() == whole.lines() && split.ended() == whole.ended());

    HeaderMeter bytewise;
    for (char c : in) bytewise.feed(std::string_view(&c, 1));
    FUZZ_CHECK(bytewise.bytes() == whole.bytes() && bytewise.lines() == whole.lines() &&
               bytewise.ended() == whole.ended());
    return 0;
}
