// header_edit_test.cpp - tests core/proto/header_edit.cpp (and the field splitting of
// header_block.cpp it stands on): milter's chgheader/insheader semantics, rename, occurrences
// counted after earlier edits, untouched fields byte for byte, hostile values kept in shape.
#include "core/proto/header_edit.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_block.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::apply_header_edits;
using asmtpd::proto::HeaderEdit;

namespace {
const std::string kBlock =
    "Received: from a\r\n\tby b\r\n"
    "Authentication-Results: mx.example.org; spf=pass\r\n"
    "Subject: hello\r\n"
    "authentication-results: other.example; dkim=fail\r\n"
    "From: <a@example.com>\r\n";
}  // namespace

TEST_CASE("header_block: fields with folds, names, values") {
    auto f = asmtpd::proto::split_header_block(kBlock);
    REQUIRE(f.size() == 5);
    CHECK(f[0].raw == "Received: from a\r\n\tby b\r\n");
    CHECK(f[0].name == "Received");
    CHECK(f[0].value() == " from a\r\n\tby b");
    CHECK(asmtpd::proto::unfold(f[0].value()) == "from a\tby b");
    CHECK(f[3].name == "authentication-results");
    auto odd = asmtpd::proto::split_header_block(" leading fold\r\nFrom mbox line\r\nX: 1");
    REQUIRE(odd.size() == 3);
    CHECK(odd[0].name.empty());
    CHECK(odd[1].name.empty());
    CHECK(odd[2].name == "X");
    CHECK(odd[2].value() == " 1");
}

TEST_CASE("header_edit: no edits give the block back unchanged") {
    CHECK(apply_header_edits(kBlock, {}) == kBlock);
    CHECK(apply_header_edits("", {}).empty());
    CHECK(apply_header_edits("X: no line end", {}) == "X: no line end\r\n");
}

TEST_CASE("header_edit: delete the Nth occurrence, case-insensitively; a missing one is a no-op") {
    CHECK(apply_header_edits(kBlock, {HeaderEdit::remove("AUTHENTICATION-RESULTS", 2)}) ==
          "Received: from a\r\n\tby b\r\nAuthentication-Results: mx.example.org; spf=pass\r\n"
          "Subject: hello\r\nFrom: <a@example.com>\r\n");
    CHECK(apply_header_edits(kBlock, {HeaderEdit::remove("Subject", 2)}) == kBlock);
    CHECK(apply_header_edits(kBlock, {HeaderEdit::remove("Received", 1)}).find("by b") == std::string::npos);
}

TEST_CASE("header_edit: occurrences count on the block as earlier edits left it") {
    // Deleting occurrence 1 twice deletes both.
    auto out = apply_header_edits(kBlock, {HeaderEdit::remove("Authentication-Results", 1),
                                           HeaderEdit::remove("Authentication-Results", 1)});
    CHECK(out == "Received: from a\r\n\tby b\r\nSubject: hello\r\nFrom: <a@example.com>\r\n");
    // Occurrence 0 is every one.
    CHECK(apply_header_edits(kBlock, {HeaderEdit::remove("authentication-results", 0)}) == out);
}

TEST_CASE("header_edit: rename keeps the value byte for byte") {
    auto out = apply_header_edits(kBlock, {HeaderEdit::rename("Authentication-Results", 1,
                                                              "Original-Authentication-Results")});
    CHECK(out.find("Original-Authentication-Results: mx.example.org; spf=pass\r\nSubject") != std::string::npos);
    CHECK(out.find("authentication-results: other.example") != std::string::npos);
    CHECK(apply_header_edits(kBlock, {HeaderEdit::rename("Subject", 1, "Bad Name")}) == kBlock);
    CHECK(apply_header_edits(kBlock, {HeaderEdit::rename("Subject", 1, "")}) == kBlock);
}

TEST_CASE("header_edit: a `when` test picks fields by value; the others still count") {
    HeaderEdit e = HeaderEdit::rename("Authentication-Results", 0, "Original-Authentication-Results");
    e.when = [](std::string_view v) { return v.substr(0, 5) == "other"; };
    auto out = apply_header_edits(kBlock, {e});
    CHECK(out.find("Authentication-Results: mx.example.org") != std::string::npos);
    CHECK(out.find("\r\nOriginal-Authentication-Results: other.example; dkim=fail\r\n") != std::string::npos);
    HeaderEdit second = HeaderEdit::remove("Authentication-Results", 2);
    second.when = [](std::string_view v) { return v.find("mx.example.org") != std::string_view::npos; };
    CHECK(apply_header_edits(kBlock, {second}) == kBlock);   // the 2nd is not ours: kept
}

TEST_CASE("header_edit: change replaces the value; past the last occurrence it appends (sendmail)") {
    auto out = apply_header_edits(kBlock, {HeaderEdit::change("subject", 1, "new subject")});
    CHECK(out.find("\r\nSubject: new subject\r\nauthentication-results") != std::string::npos);
    auto added = apply_header_edits(kBlock, {HeaderEdit::change("X-New", 1, "v")});
    CHECK(added == kBlock + "X-New: v\r\n");
    CHECK(apply_header_edits(kBlock, {HeaderEdit::change("X-New", 0, "v")}) == kBlock);
    // A value that starts with white space keeps it rather than getting a second space.
    CHECK(apply_header_edits("S: a\r\n", {HeaderEdit::change("S", 1, "\tb")}) == "S:\tb\r\n");
}

TEST_CASE("header_edit: insert at a position in the field list (0 = top, past the end = append)") {
    CHECK(apply_header_edits("A: 1\r\nB: 2\r\n", {HeaderEdit::insert(0, "X", "0")}) == "X: 0\r\nA: 1\r\nB: 2\r\n");
    CHECK(apply_header_edits("A: 1\r\nB: 2\r\n", {HeaderEdit::insert(1, "X", "0")}) == "A: 1\r\nX: 0\r\nB: 2\r\n");
    CHECK(apply_header_edits("A: 1\r\nB: 2\r\n", {HeaderEdit::insert(99, "X", "0")}) == "A: 1\r\nB: 2\r\nX: 0\r\n");
    CHECK(apply_header_edits("", {HeaderEdit::insert(0, "X", "")}) == "X: \r\n");
    // The position counts a folded field once.
    CHECK(apply_header_edits("A: 1\r\n 2\r\nB: 3\r\n", {HeaderEdit::insert(1, "X", "y")}) ==
          "A: 1\r\n 2\r\nX: y\r\nB: 3\r\n");
}

TEST_CASE("header_edit: hostile names and values never break the block") {
    CHECK(apply_header_edits("A: 1\r\n", {HeaderEdit::insert(0, "Bad Name", "v")}) == "A: 1\r\n");
    CHECK(apply_header_edits("A: 1\r\n", {HeaderEdit::insert(0, "X:Y", "v")}) == "A: 1\r\n");
    CHECK(apply_header_edits("A: 1\r\n", {HeaderEdit::insert(0, "", "v")}) == "A: 1\r\n");
    // Line breaks become folds; an empty line cannot end the header; NUL goes.
    const std::string value = std::string("a\r\n\r\nB: injected\nc") + std::string("\0d", 2);
    CHECK(apply_header_edits("A: 1\r\n", {HeaderEdit::insert(9, "X", value)}) ==
          "A: 1\r\nX: a\r\n B: injected\r\n cd\r\n");
    CHECK(apply_header_edits("A: 1\r\n", {HeaderEdit::change("A", 1, "x\rFake: y")}) == "A: x\r\n Fake: y\r\n");
}

TEST_CASE("header_edit: lines that are not fields are kept and never matched") {
    const std::string odd = "From mbox\r\n\tfold\r\nA: 1\r\n";
    CHECK(apply_header_edits(odd, {HeaderEdit::remove("From mbox", 1)}) == odd);
    CHECK(apply_header_edits(odd, {HeaderEdit::insert(1, "X", "y")}) == "From mbox\r\n\tfold\r\nX: y\r\nA: 1\r\n");
    // A block that starts with a folded line: nothing goes above it (it would fold into it).
    CHECK(apply_header_edits(" lead\r\nA: 1\r\n", {HeaderEdit::insert(0, "X", "y")}) == " lead\r\nX: y\r\nA: 1\r\n");
}

}  // namespace ASMTPD_TEST_UNIT
