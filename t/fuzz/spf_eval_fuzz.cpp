// spf_eval_fuzz.cpp - libFuzzer target for core/proto/spf_eval.cpp: the input is an SPF
// record that every TXT question gets (so include/redirect recurse into it), plus fixed
// answers for the other types. Invariants: evaluation always ends, asks a bounded number of
// questions (the §4.6.4 limits), never exceeds the limits it reports, and explains errors.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/spf_eval.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto::spf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string record(reinterpret_cast<const char*>(data), size);
    for (const char* ip : {"192.0.2.1", "2001:db8::1"}) {
        Request r;
        r.ip = ip;
        r.sender = "user@example.com";
        r.helo = "mx.example.org";
        unsigned asked = 0;
        Outcome o = evaluate(r, [&](const Query& q) {
            ++asked;
            FUZZ_CHECK(asked < 400);
            FUZZ_CHECK(!q.name.empty() && q.name.size() <= 253 && q.name.back() != '.');
            switch (q.type) {
                case QType::TXT: return DnsAnswer::of({record});
                case QType::A: return DnsAnswer::of({"192.0.2.1", "198.51.100.7"});
                case QType::AAAA: return DnsAnswer::of({"2001:db8::1"});
                case QType::MX: return DnsAnswer::of({"mx1.example.com", "mx2.example.com"});
                case QType::PTR: return DnsAnswer::status_only(DnsStatus::NxDomain);
            }
            return DnsAnswer{};
        });
        FUZZ_CHECK(o.lookups <= 11 && o.void_lookups <= 3);
        FUZZ_CHECK(o.queries == asked);
        if (o.result == Result::PermError || o.result == Result::TempError) FUZZ_CHECK(!o.problem.empty());
    }
    return 0;
}
