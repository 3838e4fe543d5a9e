// dkim_signature_fuzz.cpp - libFuzzer target for core/proto/dkim_tags.cpp and
// dkim_signature.cpp: the input is one DKIM-Signature field value. Invariants: a tag list
// that parses has unique names and values without surrounding FWS; a refusal says why; a
// parsed signature has every required tag, From in h=, i= within d=, x= not before t=;
// emptying b= in the field keeps it a valid tag list with an empty b=.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/proto/dkim_header.hpp"
#include "core/proto/dkim_signature.hpp"
#include "core/proto/dkim_tags.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using namespace asmtpd::proto::dkim;

namespace {
bool fws_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const TagList list = parse_tag_list(in);
    if (!list.ok()) {
        FUZZ_CHECK(list.tags.empty());
    } else {
        FUZZ_CHECK(!list.tags.empty());
        std::set<std::string_view> names;
        for (const auto& t : list.tags) {
            FUZZ_CHECK(names.insert(t.name).second);
            FUZZ_CHECK(!t.name.empty() && is_alpha(t.name[0]));
            if (!t.value.empty()) FUZZ_CHECK(!fws_char(t.value.front()) && !fws_char(t.value.back()));
            FUZZ_CHECK(t.after_equals <= std::size_t(t.value.data() - in.data()));
            FUZZ_CHECK(in[t.after_equals - 1] == '=');
        }
    }
    const ParsedSignature p = parse_signature(in);
    if (!p.signature) {
        FUZZ_CHECK(!p.error.empty());
        return 0;
    }
    FUZZ_CHECK(list.ok());
    const Signature& s = *p.signature;
    FUZZ_CHECK(!s.domain.empty() && !s.selector.empty() && !s.signature.empty() && !s.body_hash.empty());
    bool from = false;
    for (const auto& h : s.signed_headers) from = from || iequals(h, "from");
    FUZZ_CHECK(from);
    FUZZ_CHECK(same_or_subdomain(s.identity_domain, s.domain));
    if (s.timestamp && s.expiration) FUZZ_CHECK(*s.expiration >= *s.timestamp);
    FUZZ_CHECK(s.acceptable == (s.algorithm != Algorithm::RsaSha1));

    auto emptied = without_b_value("DKIM-Signature:" + std::string(in));
    FUZZ_CHECK(emptied);
    const TagList again = parse_tag_list(std::string_view(*emptied).substr(15));
    FUZZ_CHECK(again.ok() && again.find("b") && again.find("b")->value.empty());
    return 0;
}
