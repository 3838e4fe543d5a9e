// spf_macro_fuzz.cpp - libFuzzer target for core/proto/spf_macro.cpp: the input is a macro
// string. Invariants: a text passes the syntax check exactly when it expands; an expanded
// domain-spec is at most 253 octets with no trailing dot; uppercase letters only produce
// URL-safe text; nothing is read beyond the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/spf_macro.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto::spf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    MacroValues v;
    v.sender = "a-b.c+d@Ex ample.com";
    v.local_part = "a-b.c+d";
    v.sender_domain = v.domain = "ex ample.com";
    v.ip_dotted = dotted_ip("2001:db8::1");
    v.ip_readable = "2001:db8::1";
    v.ipv6 = true;
    v.helo = "mx.example.org";
    v.receiver = "r.example";
    v.timestamp = "1";
    for (auto use : {MacroUse::DomainSpec, MacroUse::Modifier, MacroUse::Explanation}) {
        bool well_formed = !macro_syntax_error(in, use);
        auto out = expand_macros(in, use, v);
        FUZZ_CHECK(well_formed == out.has_value());
        if (out && use == MacroUse::DomainSpec) {
            FUZZ_CHECK(out->size() <= 253);
            FUZZ_CHECK(out->empty() || out->back() != '.');
        }
    }
    (void)uses_validated_name(in);
    (void)dotted_ip(in);
    return 0;
}
