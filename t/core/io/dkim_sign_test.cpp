// dkim_sign_test.cpp - tests core/io/dkim_sign.cpp's streaming form, sign_header_block(): the
// body hashed in chunks as the dkim plugin does gives the very field sign_message() gives,
// the field verifies, and oversign_headers adds exactly one extra listing per named field.
// (sign_message() itself is tested against dkimpy in dkim_dkimpy_test.cpp and by the verifier
// in dkim_verify_test.cpp.)
#include "core/io/dkim_sign.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/io/dkim_verify.hpp"
#include "t/core/io/dkim_rfc8463.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io::dkim;
namespace rfc = asmtpd::test::rfc8463;
namespace pd = asmtpd::proto::dkim;

namespace {

constexpr std::uint64_t kNow = 1700000000;

const std::string kHeader =
    "From: Joe <joe@example.net>\r\nTo: Suzie <suzie@example.org>\r\nSubject: dinner\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n";
const std::string kBody = "Hi.  \r\n\r\nWe lost \t the game.\r\n\r\n\r\n";

BodyDigest chunked_digest(pd::Canon canon, std::string_view body, std::size_t chunk) {
    BodyHasher h(canon, std::nullopt);
    for (std::size_t at = 0; at < body.size(); at += chunk) h.feed(body.substr(at, chunk));
    return h.finish();
}

KeyLookup own_zone() {
    return [](const std::string& name) {
        if (name == "rsa._domainkey.example.net") return KeyAnswer{KeyAnswer::Status::Found, std::string(rfc::kRsaRecord)};
        if (name == "ed._domainkey.example.net") return KeyAnswer{KeyAnswer::Status::Found, std::string(rfc::kEd25519Record)};
        return KeyAnswer{KeyAnswer::Status::NotFound, {}};
    };
}

std::string h_tag(const std::string& field) {
    auto at = field.find(" h=");
    REQUIRE(at != std::string::npos);
    return field.substr(at + 3, field.find(';', at) - at - 3);
}

}  // namespace

TEST_CASE("sign_header_block with a streamed body hash equals sign_message, and verifies") {
    for (std::string_view pem : {rfc::kRsaPrivatePem, rfc::kEd25519PrivatePem}) {
        auto key = load_private_key_pem(pem);
        REQUIRE(key.key);
        for (pd::Canon canon : {pd::Canon::Relaxed, pd::Canon::Simple}) {
            SignOptions o;
            o.domain = "example.net";
            o.selector = key.key->type() == pd::KeyType::Ed25519 ? "ed" : "rsa";
            o.body_canon = o.header_canon = canon;
            o.timestamp = kNow;
            auto whole = sign_message(kHeader + "\r\n" + kBody, *key.key, o);
            REQUIRE(whole.field);
            for (std::size_t chunk : {std::size_t(1), std::size_t(3), kBody.size()}) {
                CAPTURE(chunk);
                auto streamed = sign_header_block(kHeader, chunked_digest(canon, kBody, chunk), *key.key, o);
                REQUIRE(streamed.field);
                CHECK(*streamed.field == *whole.field);
            }
            auto results = verify_message(*whole.field + kHeader + "\r\n" + kBody, own_zone(), kNow);
            REQUIRE(results.size() == 1);
            CHECK(results[0].verdict == Verdict::Pass);
        }
    }
}

TEST_CASE("sign_header_block: the header block may carry its empty line; a bad block is refused") {
    auto key = load_private_key_pem(rfc::kEd25519PrivatePem);
    REQUIRE(key.key);
    SignOptions o;
    o.domain = "example.net";
    o.selector = "ed";
    const BodyDigest body = chunked_digest(o.body_canon, kBody, 5);
    auto a = sign_header_block(kHeader, body, *key.key, o);
    auto b = sign_header_block(kHeader + "\r\n", body, *key.key, o);
    REQUIRE(a.field);
    REQUIRE(b.field);
    CHECK(*a.field == *b.field);
    CHECK_FALSE(sign_header_block(" folded first\r\n" + kHeader, body, *key.key, o).field);
    CHECK(sign_header_block("To: x@example.org\r\n", body, *key.key, o).error == "message has no From");
}

TEST_CASE("oversign_headers: one extra listing for the named fields only; a From added later fails") {
    auto key = load_private_key_pem(rfc::kRsaPrivatePem);
    REQUIRE(key.key);
    SignOptions o;
    o.domain = "example.net";
    o.selector = "rsa";
    o.headers = {"From", "To", "Subject", "Date", "Cc"};
    o.oversign_headers = {"from", "CC"};
    auto r = sign_header_block(kHeader, chunked_digest(o.body_canon, kBody, 64), *key.key, o);
    REQUIRE(r.field);
    CHECK(h_tag(*r.field) == "from:from:to:subject:date:cc");
    const std::string message = *r.field + kHeader + "\r\n" + kBody;
    CHECK(verify_message(message, own_zone(), kNow)[0].verdict == Verdict::Pass);
    const std::string forged = *r.field + "From: evil@example.org\r\n" + kHeader + "\r\n" + kBody;
    CHECK(verify_message(forged, own_zone(), kNow)[0].verdict == Verdict::Fail);
}

}  // namespace ASMTPD_TEST_UNIT
