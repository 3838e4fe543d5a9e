// dkim_signature_test.cpp - tests core/proto/dkim_signature.cpp: the RFC 6376 §3.5 tags,
// their defaults, and the §6.1.1 rules that make a signature a permerror.
#include "core/proto/dkim_signature.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dkim;

namespace {
const std::string kBase = "v=1; a=rsa-sha256; d=example.net; s=brisbane; h=From:To:Subject; bh=MTIzNDU2Nzg5MA==; b=YWJj";

Signature ok(const std::string& value) {
    ParsedSignature p = parse_signature(value);
    INFO(value, " -> ", p.error);
    REQUIRE(p.signature);
    return *p.signature;
}
std::string error_of(const std::string& value) {
    ParsedSignature p = parse_signature(value);
    CAPTURE(value);
    CHECK_FALSE(p.signature);
    return p.error;
}
}  // namespace

TEST_CASE("§3.5 a minimal signature and its defaults") {
    Signature s = ok(kBase);
    CHECK(s.algorithm == Algorithm::RsaSha256);
    CHECK(s.acceptable);
    CHECK(s.header_canon == Canon::Simple);
    CHECK(s.body_canon == Canon::Simple);
    CHECK(s.domain == "example.net");
    CHECK(s.selector == "brisbane");
    CHECK(s.signed_headers == std::vector<std::string>{"From", "To", "Subject"});
    CHECK(s.body_hash == "1234567890");
    CHECK(s.signature == "abc");
    CHECK(s.identity == "@example.net");
    CHECK(s.identity_domain == "example.net");
    CHECK_FALSE(s.body_length);
    CHECK_FALSE(s.timestamp);
    CHECK_FALSE(s.expiration);
    CHECK(key_query_name(s) == "brisbane._domainkey.example.net");
}

TEST_CASE("§3.5 c=: header/body, body defaults to simple") {
    CHECK(ok(kBase + "; c=relaxed/relaxed").body_canon == Canon::Relaxed);
    Signature r = ok(kBase + "; c=relaxed");
    CHECK(r.header_canon == Canon::Relaxed);
    CHECK(r.body_canon == Canon::Simple);
    Signature s = ok(kBase + "; c=simple/relaxed");
    CHECK(s.header_canon == Canon::Simple);
    CHECK(s.body_canon == Canon::Relaxed);
    CHECK(error_of(kBase + "; c=fancy").find("canonicalization") != std::string::npos);
    error_of(kBase + "; c=relaxed/");
    error_of(kBase + "; c=Relaxed/simple");
}

TEST_CASE("a=: ed25519-sha256 (RFC 8463), rsa-sha1 flagged not acceptable (RFC 8301)") {
    std::string ed = kBase;
    ed.replace(ed.find("rsa-sha256"), 10, "ed25519-sha256");
    CHECK(ok(ed).algorithm == Algorithm::Ed25519Sha256);
    std::string sha1 = kBase;
    sha1.replace(sha1.find("rsa-sha256"), 10, "rsa-sha1");
    Signature s = ok(sha1);
    CHECK(s.algorithm == Algorithm::RsaSha1);
    CHECK_FALSE(s.acceptable);
    std::string unknown = kBase;
    unknown.replace(unknown.find("rsa-sha256"), 10, "rsa-md5");
    CHECK(error_of(unknown).find("algorithm") != std::string::npos);
    CHECK(to_string(Algorithm::Ed25519Sha256) == "ed25519-sha256");
}

TEST_CASE("§6.1.1 every required tag") {
    for (std::string tag : {"v=1; ", "a=rsa-sha256; ", "d=example.net; ", "s=brisbane; ", "h=From:To:Subject; ",
                            "bh=MTIzNDU2Nzg5MA==; "}) {
        std::string v = kBase;
        v.erase(v.find(tag), tag.size());
        CHECK(error_of(v).find("missing tag") != std::string::npos);
    }
    CHECK(error_of("v=1; a=rsa-sha256; d=example.net; s=brisbane; h=From; bh=MTIzNDU2Nzg5MA==").find("b=") !=
          std::string::npos);
}

TEST_CASE("§6.1.1 v= must be 1") {
    std::string v = kBase;
    v.replace(0, 3, "v=2");
    CHECK(error_of(v).find("version") != std::string::npos);
}

TEST_CASE("b= and bh=: base64 with folding; bad base64 or empty is a permerror") {
    Signature s = ok("v=1; a=rsa-sha256; d=example.net; s=sel; h=from; bh=MTIz\r\n NDU2\tNzg5MA==; b=YW\r\n Jj");
    CHECK(s.body_hash == "1234567890");
    CHECK(s.signature == "abc");
    error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=from; bh=MTIz*; b=YWJj");
    error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=from; bh=MTIzNDU2Nzg5MA==; b=");
    error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=from; bh=; b=YWJj");
}

TEST_CASE("h=: must include From (any case), names are checked") {
    CHECK(ok("v=1; a=rsa-sha256; d=example.net; s=sel; h=to : FROM; bh=YWJj; b=YWJj").signed_headers.size() == 2);
    CHECK(error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=To:Subject; bh=YWJj; b=YWJj").find("From") !=
          std::string::npos);
    error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=From::To; bh=YWJj; b=YWJj");
    error_of("v=1; a=rsa-sha256; d=example.net; s=sel; h=From:; bh=YWJj; b=YWJj");
}

TEST_CASE("i=: within d= (same or subdomain), local part optional") {
    Signature s = ok(kBase + "; i=joe@football.Example.NET");
    CHECK(s.identity == "joe@football.Example.NET");
    CHECK(s.identity_domain == "football.Example.NET");
    CHECK(ok(kBase + "; i=@example.net").identity_domain == "example.net");
    CHECK(error_of(kBase + "; i=joe@example.com").find("within d=") != std::string::npos);
    CHECK(error_of(kBase + "; i=joe@badexample.net").find("within d=") != std::string::npos);
    error_of(kBase + "; i=joe");
    CHECK(ok(kBase + "; i=joe=3Dx=40y@example.net").identity == "joe=x@y@example.net");
    CHECK(ok(kBase + "; i=j=3doe@example.net").identity == "j=oe@example.net");
    error_of(kBase + "; i=joe=4@example.net");
    error_of(kBase + "; i=joe@example.net=");
}

TEST_CASE("d= and s= must be domain names") {
    error_of("v=1; a=rsa-sha256; d=exa mple.net; s=sel; h=from; bh=YWJj; b=YWJj");
    error_of("v=1; a=rsa-sha256; d=example..net; s=sel; h=from; bh=YWJj; b=YWJj");
    error_of("v=1; a=rsa-sha256; d=.example.net; s=sel; h=from; bh=YWJj; b=YWJj");
    error_of("v=1; a=rsa-sha256; d=example.net; s=; h=from; bh=YWJj; b=YWJj");
    CHECK(ok("v=1; a=rsa-sha256; d=example.net; s=s_2024.eu; h=from; bh=YWJj; b=YWJj").selector == "s_2024.eu");
}

TEST_CASE("q=: dns/txt must be offered") {
    ok(kBase + "; q=dns/txt");
    ok(kBase + "; q=other/x:dns/txt");
    CHECK(error_of(kBase + "; q=other/x").find("q=") != std::string::npos);
}

TEST_CASE("l=, t=, x=: numbers; x= not before t=; expiry against a clock") {
    Signature s = ok(kBase + "; l=123; t=1000; x=2000");
    CHECK(*s.body_length == 123);
    CHECK(*s.timestamp == 1000);
    CHECK(*s.expiration == 2000);
    CHECK_FALSE(signature_expired(s, 2000));
    CHECK(signature_expired(s, 2001));
    CHECK_FALSE(signature_expired(ok(kBase), 99999999999));
    CHECK_FALSE(signature_expired(s, 2300, 300));
    CHECK(signature_expired(s, 2301, 300));
    CHECK_FALSE(signed_in_future(s, 1000));
    CHECK(signed_in_future(s, 999));
    CHECK_FALSE(signed_in_future(s, 700, 300));
    CHECK(signed_in_future(s, 699, 300));
    CHECK_FALSE(signed_in_future(ok(kBase), 0));
    ok(kBase + "; t=1000; x=1000");
    CHECK(error_of(kBase + "; t=1000; x=999").find("x=") != std::string::npos);
    error_of(kBase + "; l=12a");
    error_of(kBase + "; l=");
    error_of(kBase + "; t=-1");
    error_of(kBase + "; x=99999999999999999999");
}

TEST_CASE("unknown tags are ignored; a malformed tag list is a permerror") {
    ok(kBase + "; z=From:foo@example.net; zz=anything");
    error_of(kBase + "; d=again.net");
    error_of(kBase + ";;");
}

TEST_CASE("same_or_subdomain") {
    CHECK(same_or_subdomain("example.net", "Example.NET"));
    CHECK(same_or_subdomain("a.b.example.net", "example.net"));
    CHECK_FALSE(same_or_subdomain("badexample.net", "example.net"));
    CHECK_FALSE(same_or_subdomain("net", "example.net"));
}

}  // namespace ASMTPD_TEST_UNIT
