// sasl_fuzz.cpp - libFuzzer target for core/proto/sasl.cpp: the input is a client's AUTH
// line. Invariants: base64 is a bijection (what decodes re-encodes to the same text), replies
// are well-formed 5xx, and parsed PLAIN / LOGIN / CRAM-MD5 fields obey their rules and never
// contain what they must not (NUL in any field, controls in identities).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/sasl.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using asmtpd::fuzz::has_ctl;
using asmtpd::fuzz::well_formed_wire;

namespace {

void check_reply(const Reply& r) {
    FUZZ_CHECK(r.code == 500 || r.code == 501);
    FUZZ_CHECK(esc_matches(r.esc, r.code));
    FUZZ_CHECK(well_formed_wire(r.wire(true)));
}

void check_decoded(std::string_view d) {
    auto plain = parse_plain(d);
    if (plain.ok()) {
        FUZZ_CHECK(!plain->authcid.empty() && !plain->password.empty());
        FUZZ_CHECK(!has_ctl(plain->authcid) && !has_ctl(plain->authzid));
        FUZZ_CHECK(valid_utf8(plain->authcid) && valid_utf8(plain->authzid));
        FUZZ_CHECK(plain->password.find('\0') == std::string::npos);
        FUZZ_CHECK(plain->authzid + '\0' + plain->authcid + '\0' + plain->password == d);
    } else {
        check_reply(plain.error());
    }
    auto cram = parse_cram_md5(d);
    if (cram.ok()) {
        FUZZ_CHECK(cram->digest.size() == 32 && to_lower(cram->digest) == cram->digest);
        FUZZ_CHECK(!cram->user.empty() && !has_ctl(cram->user));
        FUZZ_CHECK(cram->user.size() + 33 == d.size());
    } else {
        check_reply(cram.error());
    }
    auto user = parse_login_user(d);
    if (user.ok()) FUZZ_CHECK(*user == d && !d.empty() && !has_ctl(d));
    auto pass = parse_login_password(d);
    if (pass.ok()) FUZZ_CHECK(d.find('\0') == std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    auto d = base64_decode(in);
    if (d) {
        FUZZ_CHECK(base64_encode(*d) == in);
        FUZZ_CHECK(d->size() == in.size() / 4 * 3 - (in.size() >= 1 && in.back() == '=') -
                                    (in.size() >= 2 && in[in.size() - 2] == '='));
    }
    FUZZ_CHECK(base64_decode(base64_encode(in)) == in);

    auto r = decode_response(in);
    if (r.ok()) {
        FUZZ_CHECK(d && *r == *d);
        check_decoded(*r);
    } else {
        check_reply(r.error());
        FUZZ_CHECK(!d || is_sasl_cancel(in) || in.size() > kSaslMaxLine - 2);
    }
    auto ir = decode_initial_response(in);
    if (ir.ok()) FUZZ_CHECK(in == "=" ? ir->empty() : (d && *ir == *d));
    check_decoded(in);   // the raw bytes, as if they had been decoded
    return 0;
}
