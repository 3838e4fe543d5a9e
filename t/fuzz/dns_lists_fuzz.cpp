// dns_lists_fuzz.cpp - libFuzzer target for core/proto/dns_lists.cpp.
// The input is a config line or a name from the network (sender domain, HELO, an A record).
// Invariants: a parsed zone is a valid list name in lower case and reparses to itself; every
// query name built is a valid name ending in the zone; classification never crashes and only
// 127/8 text can be listed; %IP% expansion leaves no mark when the IP has none.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/dns_lists.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    for (auto parse : {parse_dnsbl_zone, parse_rhsbl_zone}) {
        if (auto z = parse(in)) {
            FUZZ_CHECK(is_dns_list_name(z->zone));
            FUZZ_CHECK(z->zone == to_lower(z->zone));
            auto again = parse(z->zone);
            FUZZ_CHECK(again && again->zone == z->zone && !again->message);
        }
    }
    if (auto q = rhsbl_query_name(in, "dbl.example")) {
        FUZZ_CHECK(is_dns_list_name(*q));
        FUZZ_CHECK(q->size() > 12 && q->substr(q->size() - 12) == ".dbl.example");
    }
    if (auto q = dnsbl_query_name(in, "bl.example")) FUZZ_CHECK(is_dns_list_name(*q));
    if (classify_dns_list_answer(in) != DnsListAnswer::ignored) FUZZ_CHECK(in.rfind("127.", 0) == 0);
    FUZZ_CHECK(expand_ip(in, "1.2.3.4").find("%IP%") == std::string::npos);
    return 0;
}
