// spf_record_fuzz.cpp - libFuzzer target for core/proto/spf_record.cpp: the input is one TXT
// record. Invariants: only records that is_spf_record() selects parse; a parsed record's
// domain-specs pass the macro syntax check (so the evaluator can always expand them), CIDR
// lengths are in range, ip4/ip6 networks have the right family, and a refusal says why.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/spf_macro.hpp"
#include "core/proto/spf_record.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto::spf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto p = parse_record(in);
    if (!p.record) {
        FUZZ_CHECK(!p.error.empty());
        return 0;
    }
    FUZZ_CHECK(is_spf_record(in));
    for (const auto& d : p.record->directives) {
        FUZZ_CHECK(!d.text.empty() && in.find(d.text) != std::string_view::npos);
        FUZZ_CHECK(d.cidr4 <= 32 && d.cidr6 <= 128);
        FUZZ_CHECK(d.qualifier == Result::Pass || d.qualifier == Result::Fail || d.qualifier == Result::SoftFail ||
                   d.qualifier == Result::Neutral);
        if (!d.domain_spec.empty()) FUZZ_CHECK(!macro_syntax_error(d.domain_spec, MacroUse::DomainSpec));
        if (d.mechanism == Mechanism::Ip4) FUZZ_CHECK(d.network.network.is_v4());
        if (d.mechanism == Mechanism::Include || d.mechanism == Mechanism::Exists) FUZZ_CHECK(!d.domain_spec.empty());
    }
    if (p.record->redirect) FUZZ_CHECK(!macro_syntax_error(*p.record->redirect, MacroUse::DomainSpec));
    if (p.record->exp) FUZZ_CHECK(!macro_syntax_error(*p.record->exp, MacroUse::DomainSpec));
    return 0;
}
