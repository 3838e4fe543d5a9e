// address_fuzz.cpp - libFuzzer target for core/proto/address.cpp (parse_path, format).
// The first byte picks the rules; the rest is the path, tried as given and wrapped in "<>".
// Invariants: accepted addresses are control-free, within the RFC limits, and survive a
// format() -> parse_path() round trip unchanged; errors are valid replies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/address.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using asmtpd::fuzz::has_ctl;
using asmtpd::fuzz::well_formed_wire;

namespace {

void check_one(std::string_view path, const AddressRules& rules) {
    auto r = parse_path(path, rules);
    if (!r.ok()) {
        const Reply& e = r.error();
        FUZZ_CHECK(e.code == 501 || e.code == 553);
        FUZZ_CHECK(esc_matches(e.esc, e.code));
        FUZZ_CHECK(well_formed_wire(e.wire(true)));
        return;
    }
    const Address& a = *r;
    FUZZ_CHECK(path.size() <= 256);
    FUZZ_CHECK(!has_ctl(a.local) && !has_ctl(a.domain));
    FUZZ_CHECK(a.local.size() <= 64 && a.domain.size() <= 255);
    if (!rules.allow_utf8) FUZZ_CHECK(!has_8bit(a.local) && !has_8bit(a.domain));
    FUZZ_CHECK(valid_utf8(a.local) && valid_utf8(a.domain));
    if (a.is_null()) FUZZ_CHECK(rules.allow_null && path == "<>");
    if (a.domain.empty() && !a.is_null()) FUZZ_CHECK(rules.allow_bare_postmaster && a.local == "postmaster");
    std::string f = a.format();
    FUZZ_CHECK(f.size() <= path.size());  // canonical quoting never adds to what was sent
    FUZZ_CHECK(!has_ctl(f));
    auto again = parse_path(f, rules);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == a);
    FUZZ_CHECK(again->format() == f);
    FUZZ_CHECK(a.bare().size() + 2 == f.size() || a.is_null());
    FUZZ_CHECK(a.domain_lower().size() == a.domain.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    AddressRules rules;
    rules.allow_null = flags & 1;
    rules.allow_bare_postmaster = flags & 2;
    rules.allow_utf8 = flags & 4;
    rules.recipient = flags & 8;
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    check_one(in, rules);
    check_one("<" + std::string(in) + ">", rules);
    return 0;
}
