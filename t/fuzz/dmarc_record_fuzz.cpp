// dmarc_record_fuzz.cpp - libFuzzer target for core/proto/dmarc_record.cpp and
// core/proto/from_header.cpp: the input is a DMARC TXT record and, read again, a header
// block. Invariants: a valid record has pct <= 100 and p=none when it came from the rua=
// fallback; a refusal says why; several DMARC records are never valid; the Author Domains
// of a header are distinct, lower-case, non-empty DNS-like names, and absent on a problem.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dmarc_record.hpp"
#include "core/proto/from_header.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const dmarc::ParsedRecord p = dmarc::parse_record(in);
    if (p.status == dmarc::RecordStatus::Valid) {
        FUZZ_CHECK(p.record.has_value());
        FUZZ_CHECK(p.record->pct <= 100);
        if (p.record->p_from_rua) FUZZ_CHECK(p.record->p == dmarc::Policy::None && !p.record->sp);
    } else {
        FUZZ_CHECK(!p.record && !p.error.empty());
    }
    if (p.status != dmarc::RecordStatus::NotDmarc)
        FUZZ_CHECK(dmarc::select_record({std::string(in), std::string(in)}).status == dmarc::RecordStatus::Invalid);

    const Authors a = author_domains(in);
    if (a.problem != AuthorProblem::None) FUZZ_CHECK(a.domains.empty());
    else FUZZ_CHECK(!a.domains.empty());
    for (std::size_t i = 0; i < a.domains.size(); ++i) {
        const std::string& d = a.domains[i];
        FUZZ_CHECK(!d.empty() && d.front() != '.' && d.back() != '.');
        for (char c : d) FUZZ_CHECK(!(c >= 'A' && c <= 'Z') && c != ' ' && c != '@');
        for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(a.domains[j] != d);
    }
    const FromAuthors f = parse_from_field(in);
    FUZZ_CHECK(f.ok() != f.domains.empty() || (!f.ok() && f.domains.empty()));
    return 0;
}
