// dkim_header_test.cpp - tests core/proto/dkim_header.cpp: splitting the header block,
// the RFC 6376 §3.4.5 header examples, h= selection bottom-up (§5.4.2) and the emptied b=.
#include "core/proto/dkim_header.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dkim;

TEST_CASE("split: fields with folding, names trimmed, stops at the empty line") {
    std::string_view block = "From: a@example.net\r\nSubject: hello\r\n\tworld\r\nX-Odd : v\r\n\r\nbody: no\r\n";
    SplitHeader h = split_header_block(block);
    REQUIRE(h.error.empty());
    REQUIRE(h.fields.size() == 3);
    CHECK(h.fields[0].name == "From");
    CHECK(h.fields[0].raw == "From: a@example.net");
    CHECK(h.fields[1].name == "Subject");
    CHECK(h.fields[1].raw == "Subject: hello\r\n\tworld");
    CHECK(h.fields[1].value() == " hello\r\n\tworld");
    CHECK(h.fields[2].name == "X-Odd");
}

TEST_CASE("split: a last line without CRLF, an empty block, a block without the empty line") {
    CHECK(split_header_block("A: 1\r\nB: 2").fields.size() == 2);
    CHECK(split_header_block("A: 1\r\nB: 2").fields[1].raw == "B: 2");
    CHECK(split_header_block("").fields.empty());
    CHECK(split_header_block("").error.empty());
    SplitHeader h = split_header_block("A: 1\r\n b\r\n");
    REQUIRE(h.fields.size() == 1);
    CHECK(h.fields[0].raw == "A: 1\r\n b");
}

TEST_CASE("split: malformed blocks") {
    CHECK_FALSE(split_header_block(" A: 1\r\n").error.empty());
    CHECK_FALSE(split_header_block("A: 1\r\nno colon here\r\n").error.empty());
    CHECK_FALSE(split_header_block(": empty name\r\n").error.empty());
    CHECK_FALSE(split_header_block("A: 1\r\n\nB: 2\r\n").error.empty());        // bare LF in a name
    CHECK_FALSE(split_header_block("A: 1\r\nX Y: 2\r\n").error.empty());
    CHECK_FALSE(split_header_block("A: 1\r\nX\xc3\xa9: 2\r\n").error.empty());
}

TEST_CASE("RFC 6376 §3.4.5 example: header canonicalization") {
    SplitHeader h = split_header_block("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n");
    REQUIRE(h.fields.size() == 2);
    CHECK(canonicalize_header(Canon::Relaxed, h.fields[0].raw) + canonicalize_header(Canon::Relaxed, h.fields[1].raw) ==
          "a:X\r\nb:Y Z\r\n");
    CHECK(canonicalize_header(Canon::Simple, h.fields[0].raw) + canonicalize_header(Canon::Simple, h.fields[1].raw) ==
          "A: X\r\nB : Y\t\r\n\tZ  \r\n");
}

TEST_CASE("relaxed: case, WSP runs, empty values") {
    CHECK(canonicalize_header(Canon::Relaxed, "SUBJect:\t  Hello \t  World  ") == "subject:Hello World\r\n");
    CHECK(canonicalize_header(Canon::Relaxed, "X-Empty:") == "x-empty:\r\n");
    CHECK(canonicalize_header(Canon::Relaxed, "X-Empty: \r\n ") == "x-empty:\r\n");
}

TEST_CASE("§5.4.2 selection: bottom-up for repeated names, missing names contribute nothing") {
    SplitHeader h = split_header_block("Received: 1\r\nFrom: f\r\nReceived: 2\r\nreceived: 3\r\nTo: t\r\n");
    auto sel = select_signed_fields(h.fields, {"received", "RECEIVED", "from", "cc", "received", "received"});
    REQUIRE(sel.size() == 4);
    CHECK(sel[0]->raw == "received: 3");
    CHECK(sel[1]->raw == "Received: 2");
    CHECK(sel[2]->raw == "From: f");
    CHECK(sel[3]->raw == "Received: 1");
}

TEST_CASE("b= emptied: the value and the FWS after '=' go, everything else stays") {
    CHECK(*without_b_value("DKIM-Signature: v=1; b=abc\r\n def; d=x") == "DKIM-Signature: v=1; b=; d=x");
    CHECK(*without_b_value("DKIM-Signature: v=1; b=\r\n abc\r\n def") == "DKIM-Signature: v=1; b=");
    CHECK(*without_b_value("DKIM-Signature: v=1; bh=xyz; b = abc ;") == "DKIM-Signature: v=1; bh=xyz; b = ;");
    CHECK_FALSE(without_b_value("DKIM-Signature: v=1; bh=xyz"));
    CHECK_FALSE(without_b_value("DKIM-Signature: v=1;; b=x"));
}

TEST_CASE("signed_header_data: selected fields, then the signature field without CRLF") {
    std::string_view block =
        "From: Joe <joe@example.net>\r\nSubject:  hi\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed;\r\n d=example.net; "
        "s=s; h=subject:from:date; bh=YWJj; b=YW\r\n Jj\r\n";
    SplitHeader h = split_header_block(block);
    REQUIRE(h.fields.size() == 3);
    auto sig = parse_signature(h.fields[2].value());
    REQUIRE(sig.signature);
    CHECK(*signed_header_data(*sig.signature, h.fields, h.fields[2]) ==
          "subject:hi\r\nfrom:Joe <joe@example.net>\r\n"
          "dkim-signature:v=1; a=rsa-sha256; c=relaxed; d=example.net; s=s; h=subject:from:date; bh=YWJj; b=");
    Signature unnoted = *sig.signature;   // without the parser's b= span: the field is parsed again
    unnoted.b_from = unnoted.b_to = 0;
    CHECK(signed_header_data(unnoted, h.fields, h.fields[2]) == signed_header_data(*sig.signature, h.fields, h.fields[2]));
    sig.signature->header_canon = Canon::Simple;
    CHECK(*signed_header_data(*sig.signature, h.fields, h.fields[2]) ==
          "Subject:  hi\r\nFrom: Joe <joe@example.net>\r\n"
          "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed;\r\n d=example.net; s=s; h=subject:from:date; bh=YWJj; b=");
}

}  // namespace ASMTPD_TEST_UNIT
