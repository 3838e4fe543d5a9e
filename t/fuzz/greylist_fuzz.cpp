// greylist_fuzz.cpp - libFuzzer target for core/proto/greylist.cpp. The input is a record as
// the state store returns it: whatever another instance (or anything else with access to the
// Redis server) wrote under the key.
// Invariants: a record that parses prints to a text that parses to the same record (leading
// zeros are tolerated, so not always the same text); every decision over it stores
// a record that parses again, passes only from a black-window-free or white record, and
// never keeps a record for 0 seconds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/greylist.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = parse_greylist_record(in);
    if (r) FUZZ_CHECK(parse_greylist_record(format_greylist_record(*r)) == r);
    const GreylistTimeouts t{10, 100, 1000};
    for (std::uint64_t now : {0ull, 5ull, 1700000000ull}) {
        if (r && r->ts > (1ull << 62)) break;   // the clock never gets there; avoid wrapping
        auto d = greylist_decide(r, now, t);
        FUZZ_CHECK(d.ttl > 0);
        auto again = parse_greylist_record(format_greylist_record(d.next));
        FUZZ_CHECK(again && *again == d.next);
        if (d.pass) FUZZ_CHECK(r.has_value());
    }
    greylist_network(in);
    return 0;
}
