// dns_message_fuzz.cpp - libFuzzer target for core/proto/dns_message.cpp.
// The input is a DNS answer as a (possibly hostile) server sent it. Invariants: the parser
// never reads outside the input; a parsed message's names stay within 255 octets in wire form
// (at most 4 presentation bytes per octet); dns_result() of any parsed message is consistent:
// records only with status answer, a TTL within RFC 2181's range, an error only for servfail.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/dns_message.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto m = parse_dns_message(in);
    if (!m) return 0;
    FUZZ_CHECK(size >= 12);
    FUZZ_CHECK(m->qname.size() <= 4 * 255);
    for (const auto* section : {&m->answers, &m->authority}) {
        for (const DnsRr& rr : *section) {
            FUZZ_CHECK(rr.owner.size() <= 4 * 255);
            FUZZ_CHECK(rr.ttl <= 0x7fffffffu);
        }
    }
    for (DnsType t : {DnsType::a, DnsType::aaaa, DnsType::mx, DnsType::txt, DnsType::ptr, DnsType::cname}) {
        DnsResult r = dns_result(*m, m->qname, t);
        FUZZ_CHECK(r.status != DnsStatus::timeout);
        FUZZ_CHECK((r.status == DnsStatus::answer) == !r.records.empty());
        FUZZ_CHECK(r.error.empty() == (r.status != DnsStatus::servfail));
        FUZZ_CHECK(r.ttl <= 0x7fffffffu);
    }
    return 0;
}
