// dkim_verify_test.cpp - tests core/io/dkim_verify.cpp: RFC 8463 Appendix A verified end
// to end (both signatures), then every verdict rule on messages signed by dkim_sign:
// tampered header and body, l= with appended text, x=, missing/revoked/mismatched keys,
// temporary lookup failure, rsa-sha1, malformed fields.
#include "core/io/dkim_verify.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/io/dkim_sign.hpp"
#include "core/proto/sasl.hpp"
#include "t/core/io/dkim_rfc8463.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io::dkim;
namespace rfc = asmtpd::test::rfc8463;
namespace pd = asmtpd::proto::dkim;

namespace {

constexpr std::uint64_t kNow = 1700000000;

KeyLookup zone(std::map<std::string, std::string> records) {
    return [records = std::move(records)](const std::string& name) {
        auto it = records.find(name);
        if (it == records.end()) return KeyAnswer{KeyAnswer::Status::NotFound, {}};
        return KeyAnswer{KeyAnswer::Status::Found, it->second};
    };
}

const KeyLookup kRfcZone = zone({{"brisbane._domainkey.football.example.com", std::string(rfc::kEd25519Record)},
                                 {"test._domainkey.football.example.com", std::string(rfc::kRsaRecord)}});

std::string replaced(std::string_view s, std::string_view from, std::string_view to) {
    std::string out(s);
    auto at = out.find(from);
    REQUIRE(at != std::string::npos);
    out.replace(at, from.size(), to);
    return out;
}

const std::string kMessage =
    "From: Joe <joe@example.net>\r\nTo: Suzie <suzie@example.org>\r\nSubject: dinner\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n\r\nHi.\r\n\r\nWe lost the game.\r\n";

// kMessage signed by the RFC 8463 RSA key as example.net/sel, with `o` adjusted.
std::string signed_rsa(SignOptions o = {}, std::string_view message = kMessage) {
    auto key = load_private_key_pem(rfc::kRsaPrivatePem);
    REQUIRE(key.key);
    if (o.domain.empty()) o.domain = "example.net";
    if (o.selector.empty()) o.selector = "sel";
    auto r = sign_message(message, *key.key, o);
    INFO(r.error);
    REQUIRE(r.field);
    return *r.field + std::string(message);
}
const KeyLookup kOwnZone = zone({{"sel._domainkey.example.net", std::string(rfc::kRsaRecord)}});

SignatureResult only(std::string_view message, const KeyLookup& lookup = kOwnZone) {
    auto results = verify_message(message, lookup, kNow);
    REQUIRE(results.size() == 1);
    return results[0];
}
}  // namespace

TEST_CASE("RFC 8463 Appendix A: both signatures pass end to end") {
    auto results = verify_message(rfc::kSignedMessage, kRfcZone, kNow);
    REQUIRE(results.size() == 2);
    for (const auto& r : results) {
        INFO(r.reason);
        CHECK(r.verdict == Verdict::Pass);
    }
    CHECK(results[0].signature->algorithm == pd::Algorithm::Ed25519Sha256);
    CHECK(results[1].signature->algorithm == pd::Algorithm::RsaSha256);
    CHECK(asmtpd::proto::base64_encode(results[0].signature->body_hash) == "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

TEST_CASE("RFC 8463 Appendix A: a changed body or signed header fails both; an unsigned header does not") {
    for (const auto& r : verify_message(replaced(rfc::kSignedMessage, "hungry", "angry"), kRfcZone, kNow)) {
        CHECK(r.verdict == Verdict::Fail);
        CHECK(r.reason == "body hash did not verify");
    }
    for (const auto& r : verify_message(replaced(rfc::kSignedMessage, "dinner", "lunch"), kRfcZone, kNow)) {
        CHECK(r.verdict == Verdict::Fail);
        CHECK(r.reason == "signature did not verify");
    }
    // simple/simple: refolding a signed header breaks it.
    for (const auto& r : verify_message(replaced(rfc::kSignedMessage, "Subject: Is", "Subject:  Is"), kRfcZone, kNow)) {
        CHECK(r.verdict == Verdict::Fail);
    }
    std::string extra = replaced(rfc::kSignedMessage, "From: Joe", "X-Added: yes\r\nFrom: Joe");
    for (const auto& r : verify_message(extra, kRfcZone, kNow)) CHECK(r.verdict == Verdict::Pass);
}

TEST_CASE("our signatures verify in every canonicalization, with both key types") {
    using pd::Canon;
    auto ed = load_private_key_pem(rfc::kEd25519PrivatePem);
    REQUIRE(ed.key);
    const KeyLookup both = zone({{"sel._domainkey.example.net", std::string(rfc::kRsaRecord)},
                                 {"ed._domainkey.example.net", std::string(rfc::kEd25519Record)}});
    for (Canon h : {Canon::Simple, Canon::Relaxed}) {
        for (Canon b : {Canon::Simple, Canon::Relaxed}) {
            SignOptions o;
            o.header_canon = h;
            o.body_canon = b;
            CHECK(only(signed_rsa(o), both).verdict == Verdict::Pass);
            o.domain = "example.net";
            o.selector = "ed";
            auto r = sign_message(kMessage, *ed.key, o);
            REQUIRE(r.field);
            CHECK(only(*r.field + kMessage, both).verdict == Verdict::Pass);
        }
    }
}

TEST_CASE("relaxed survives refolding and whitespace changes; simple does not") {
    SignOptions relaxed;
    std::string m = signed_rsa(relaxed);
    CHECK(only(replaced(m, "Subject: dinner", "SUBJECT:\r\n \t dinner  ")).verdict == Verdict::Pass);
    CHECK(only(replaced(m, "We lost", "We   lost")).verdict == Verdict::Pass);
    CHECK(only(m + "\r\n\r\n").verdict == Verdict::Pass);   // trailing empty lines
    SignOptions simple;
    simple.header_canon = simple.body_canon = pd::Canon::Simple;
    std::string s = signed_rsa(simple);
    CHECK(only(replaced(s, "We lost", "We   lost")).verdict == Verdict::Fail);
    CHECK(only(s + "\r\n\r\n").verdict == Verdict::Pass);
}

TEST_CASE("oversigning: a second Subject added later breaks the signature") {
    SignOptions o;
    o.oversign = true;
    std::string m = signed_rsa(o);
    CHECK(only(m).verdict == Verdict::Pass);
    CHECK(only(replaced(m, "Subject: dinner\r\n", "Subject: dinner\r\nSubject: forged\r\n")).verdict == Verdict::Fail);
    SignOptions plain;
    std::string p = signed_rsa(plain);
    // Without oversigning the verifier picks the bottom Subject, so adding one below breaks it,
    // and one above does not.
    CHECK(only(replaced(p, "From: Joe", "Subject: forged\r\nFrom: Joe")).verdict == Verdict::Pass);
}

TEST_CASE("l=: text appended after the signed length still passes; a shorter body fails") {
    SignOptions o;
    o.body_length = true;
    std::string m = signed_rsa(o);
    CHECK(only(m).verdict == Verdict::Pass);
    CHECK(only(m + "Appended by a list.\r\n").verdict == Verdict::Pass);
    auto cut = only(replaced(m, "We lost the game.\r\n", ""));
    CHECK(cut.verdict == Verdict::Fail);
    CHECK(cut.reason == "body shorter than l=");
}

TEST_CASE("x= in the past and t= in the future fail, beyond the clock skew") {
    SignOptions o;
    o.timestamp = kNow - 1000;
    o.expiration = kNow - kClockSkew - 1;
    auto r = only(signed_rsa(o));
    CHECK(r.verdict == Verdict::Fail);
    CHECK(r.reason == "signature expired");
    o.expiration = kNow - kClockSkew;   // within the allowed clock skew
    CHECK(only(signed_rsa(o)).verdict == Verdict::Pass);
    o.expiration = kNow + 100;
    CHECK(only(signed_rsa(o)).verdict == Verdict::Pass);
    o.timestamp = kNow + kClockSkew + 1;
    o.expiration = std::nullopt;
    CHECK(only(signed_rsa(o)).reason == "signature timestamp in the future");
    o.timestamp = kNow + kClockSkew;
    CHECK(only(signed_rsa(o)).verdict == Verdict::Pass);
}

TEST_CASE("key problems: missing, temporary failure, revoked, malformed, wrong type, testing flag") {
    const std::string m = signed_rsa();
    auto missing = only(m, zone({}));
    CHECK(missing.verdict == Verdict::PermError);
    CHECK(missing.reason == "no key for signature");
    auto temp = only(m, [](const std::string&) { return KeyAnswer{KeyAnswer::Status::TempFail, {}}; });
    CHECK(temp.verdict == Verdict::TempError);
    CHECK(only(m, zone({{"sel._domainkey.example.net", "v=DKIM1; p="}})).reason == "key revoked");
    CHECK(only(m, zone({{"sel._domainkey.example.net", "v=DKIM1; p=%%"}})).verdict == Verdict::PermError);
    CHECK(only(m, zone({{"sel._domainkey.example.net", std::string(rfc::kEd25519Record)}})).reason ==
          "key type does not match a=");
    auto testing = only(m, zone({{"sel._domainkey.example.net", std::string(rfc::kRsaRecord) + "; t=y"}}));
    CHECK(testing.verdict == Verdict::Pass);
    CHECK(testing.testing);
    CHECK(only(m, zone({{"sel._domainkey.example.net", "v=DKIM1; p=YWJj"}})).reason ==
          "key is not a DER SubjectPublicKeyInfo");
}

TEST_CASE("malformed signatures and headers are permerrors; no signature gives no result") {
    CHECK(verify_message(kMessage, kOwnZone, kNow).empty());
    auto bad = only("DKIM-Signature: v=1; a=rsa-sha256\r\n" + kMessage);
    CHECK(bad.verdict == Verdict::PermError);
    CHECK_FALSE(bad.signature);
    std::string sha1 = replaced(signed_rsa(), "a=rsa-sha256", "a=rsa-sha1");
    auto r = only(sha1);
    CHECK(r.verdict == Verdict::PermError);
    CHECK(r.reason == "algorithm rsa-sha1 is not accepted");
    auto broken = verify_message(" folded first\r\n" + signed_rsa(), kOwnZone, kNow);
    REQUIRE(broken.size() == 1);
    CHECK(broken[0].verdict == Verdict::PermError);
    CHECK(to_string(Verdict::TempError) == "temperror");
}

TEST_CASE("sign_message refuses a message without From") {
    auto key = load_private_key_pem(rfc::kRsaPrivatePem);
    REQUIRE(key.key);
    SignOptions o;
    o.domain = "example.net";
    o.selector = "sel";
    CHECK(sign_message("To: x@example.net\r\n\r\nbody\r\n", *key.key, o).error == "message has no From");
}

}  // namespace ASMTPD_TEST_UNIT
