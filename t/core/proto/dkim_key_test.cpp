// dkim_key_test.cpp - tests core/proto/dkim_key.cpp: RFC 6376 §3.6.1 key record tags
// (v k p h s t), revocation, and key_refusal()'s matching of a key to a signature.
#include "core/proto/dkim_key.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dkim;

namespace {
KeyRecord ok(std::string_view txt) {
    ParsedKey p = parse_key_record(txt);
    INFO(std::string(txt), " -> ", p.error);
    REQUIRE(p.key);
    return *p.key;
}
std::string error_of(std::string_view txt) {
    ParsedKey p = parse_key_record(txt);
    CAPTURE(std::string(txt));
    CHECK_FALSE(p.key);
    CHECK_FALSE(p.error.empty());
    return p.error;
}
Signature signature(std::string_view extra = "", std::string_view alg = "rsa-sha256") {
    auto p = parse_signature("v=1; a=" + std::string(alg) + "; d=example.net; s=sel; h=from; bh=YWJj; b=YWJj" +
                             std::string(extra));
    REQUIRE(p.signature);
    return *p.signature;
}
}  // namespace

TEST_CASE("§3.6.1 defaults: k=rsa, any hash, not testing") {
    KeyRecord k = ok("p=YWJj");
    CHECK(k.type == KeyType::Rsa);
    CHECK(k.public_key == "abc");
    CHECK_FALSE(k.revoked);
    CHECK(k.hashes.empty());
    CHECK_FALSE(k.testing);
    CHECK_FALSE(k.strict_identity);
}

TEST_CASE("RFC 8463 §4: the example ed25519 record") {
    KeyRecord k = ok("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    CHECK(k.type == KeyType::Ed25519);
    CHECK(k.public_key.size() == 32);
}

TEST_CASE("p= folded across TXT strings and lines still decodes") {
    CHECK(ok("v=DKIM1; p=YW\r\n Jj ZGVm").public_key == "abcdef");
}

TEST_CASE("§3.6.1 empty p= means revoked") {
    KeyRecord k = ok("v=DKIM1; p=");
    CHECK(k.revoked);
    CHECK(key_refusal(k, signature()) == "key revoked");
}

TEST_CASE("v=: optional, first, exactly DKIM1") {
    ok("v=DKIM1; p=YWJj");
    CHECK(error_of("k=rsa; v=DKIM1; p=YWJj").find("first") != std::string::npos);
    error_of("v=DKIM2; p=YWJj");
    error_of("v=dkim1; p=YWJj");
}

TEST_CASE("k=, p=, s= refusals; unknown tags and flags are ignored") {
    error_of("k=dsa; p=YWJj");
    error_of("k=rsa");
    error_of("p=YWJj*");
    error_of("p=YWJj; s=tlsrpt");
    ok("p=YWJj; s=*");
    ok("p=YWJj; s=email:tlsrpt");
    ok("p=YWJj; n=notes; t=y:q");
    error_of("p=YWJj;;");
}

TEST_CASE("t= flags") {
    KeyRecord k = ok("p=YWJj; t=y : s");
    CHECK(k.testing);
    CHECK(k.strict_identity);
    CHECK(key_refusal(k, signature()) == "");
    CHECK(key_refusal(k, signature("; i=@mail.example.net")).find("t=s") != std::string::npos);
    CHECK(key_refusal(ok("p=YWJj"), signature("; i=@mail.example.net")) == "");
}

TEST_CASE("key_refusal: key type against a=, h= against the hash") {
    KeyRecord rsa = ok("p=YWJj");
    KeyRecord ed = ok("k=ed25519; p=YWJj");
    CHECK(key_refusal(rsa, signature()) == "");
    CHECK(key_refusal(ed, signature()).find("type") != std::string::npos);
    CHECK(key_refusal(ed, signature("", "ed25519-sha256")) == "");
    CHECK(key_refusal(rsa, signature("", "ed25519-sha256")).find("type") != std::string::npos);
    CHECK(key_refusal(ok("h=sha1; p=YWJj"), signature()).find("h=") != std::string::npos);
    CHECK(key_refusal(ok("h=sha1:sha256; p=YWJj"), signature()) == "");
    CHECK(key_refusal(ok("h=sha512:sha256; p=YWJj"), signature()) == "");
}

}  // namespace ASMTPD_TEST_UNIT
