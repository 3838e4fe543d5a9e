// mime_text_test.cpp - tests core/io/mime_text.cpp: GMime gives the decoded text of base64 and
// quoted-printable parts, in multiparts and attached messages; non-text parts and the header
// block are left out; the output cap holds.
#include <doctest/doctest.h>

#include <string>

#include "core/io/mime_text.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::mime_text_parts;

namespace {

const std::string kMultipart =
    "From: a@example.org\r\n"
    "Subject: see http://header.example.com/\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    // "Go to http://b64.example.com/now\n"
    "R28gdG8gaHR0cDovL2I2NC5leGFtcGxlLmNvbS9ub3cK\r\n"
    "--XX\r\n"
    "Content-Type: text/html\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<a href=3D\"http://qp.exam=\r\n"
    "ple.com/\">x</a>\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    // "http://binary.example.com/"
    "aHR0cDovL2JpbmFyeS5leGFtcGxlLmNvbS8=\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "inner =68ttp://inner.example.com/\r\n"
    "--XX--\r\n";

}  // namespace

TEST_CASE("mime_text: decoded text parts of a multipart") {
    auto t = mime_text_parts(kMultipart, 1 << 20);
    CHECK(t.parts == 3);
    CHECK(t.leaves == 4);
    CHECK_FALSE(t.truncated);
    CHECK(t.text.find("Go to http://b64.example.com/now") != std::string::npos);
    CHECK(t.text.find("<a href=\"http://qp.example.com/\">") != std::string::npos);
    CHECK(t.text.find("inner http://inner.example.com/") != std::string::npos);
    CHECK(t.text.find("binary.example.com") == std::string::npos);
    CHECK(t.text.find("header.example.com") == std::string::npos);
    CHECK(t.text.find("preamble") == std::string::npos);
}

TEST_CASE("mime_text: a plain message, no MIME at all") {
    auto t = mime_text_parts("Subject: x\r\n\r\nhello www.example.com\r\n", 1 << 20);
    CHECK(t.parts == 1);
    CHECK(t.text.find("hello www.example.com") != std::string::npos);
    auto bare = mime_text_parts("no header block at all, just text", 1 << 20);
    CHECK(bare.text.size() <= 64);
}

TEST_CASE("mime_text: the cap and garbage") {
    std::string big = "Subject: x\r\n\r\n" + std::string(10000, 'a') + "\r\n";
    auto t = mime_text_parts(big, 100);
    CHECK(t.text.size() == 100);
    CHECK(t.truncated);
    for (std::string junk : {std::string(), std::string("\0\0\0", 3), std::string("Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"),
                             std::string("Content-Transfer-Encoding: base64\r\n\r\n!!!!====\r\n")}) {
        auto j = mime_text_parts(junk, 1000);
        CHECK(j.text.size() <= 1000);
    }
}

}  // namespace ASMTPD_TEST_UNIT
