// karma_fuzz.cpp - libFuzzer target for core/proto/karma.cpp. The input is a record or a
// penalty as the state store returns it: whatever another instance (or anything else with
// access to the Redis server) wrote under the key.
// Invariants: a record that parses prints to a text that parses to the same record; every
// session over it stores a record that parses again with one more connection; a penalty is
// only given to a naughty session and always ends after now.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/karma.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    parse_karma_penalty(in);
    auto r = parse_karma_record(in);
    if (r) FUZZ_CHECK(parse_karma_record(format_karma_record(*r)) == r);
    const KarmaSettings s{2, 1, 86400};
    for (std::int64_t score : {-3, -1, 0, 1, 5}) {
        const std::uint64_t now = 1700000000;
        auto u = karma_after_session(r, score, score == -3 && size % 2, now, s);
        auto again = parse_karma_record(format_karma_record(u.next));
        FUZZ_CHECK(again && *again == u.next);
        FUZZ_CHECK(u.next.last_seen == now);
        if (r && r->connects != UINT64_MAX) FUZZ_CHECK(u.next.connects == r->connects + 1);
        if (u.penalty_until) FUZZ_CHECK(u.outcome == KarmaOutcome::Naughty && u.penalty_until > now);
        karma_days_left(u.penalty_until, now);
    }
    karma_start_score(r);
    return 0;
}
