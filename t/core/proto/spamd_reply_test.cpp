// spamd_reply_test.cpp - tests core/proto/spamd_reply.cpp: spamd 4.0's real HEADERS and
// SYMBOLS replies, error replies, cut-off and hostile replies, the X-Spam-* fields of a header
// block (folding kept) and X-Spam-Status with a test list folded after a comma.
#include "core/proto/spamd_reply.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

// What spamd 4.0.1 answered to HEADERS for GTUBE (captured on loopback).
const std::string kHeadersBody =
    "Received: from localhost by vm\r\n\twith SpamAssassin (version 4.0.1);\r\n"
    "\tWed, 02 Dec 2026 14:23:50 +0000\r\n"
    "From: a@b.example\r\nTo: c@d.example\r\nSubject: test\r\nMessage-Id: <1@b.example>\r\n"
    "X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm\r\n"
    "X-Spam-Flag: YES\r\n"
    "X-Spam-Level: **************************************************\r\n"
    "X-Spam-Status: Yes, score=1002.7 required=5.0 tests=GTUBE,MISSING_DATE,\r\n"
    "\tMSGID_SHORT,NO_RECEIVED,NO_RELAYS,TVD_SPACE_RATIO autolearn=no\r\n"
    "\tautolearn_force=no version=4.0.1\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"----------=_6B1029F6.AA1CF0D0\"\r\n\r\n";

std::string headers_reply() {
    return "SPAMD/1.1 0 EX_OK\r\nContent-length: " + std::to_string(kHeadersBody.size()) +
           "\r\nSpam: True ; 1002.7 / 5.0\r\n\r\n" + kHeadersBody;
}

}  // namespace

TEST_CASE("spamd: a HEADERS reply gives the verdict, the numbers as written and the body") {
    std::string err;
    auto r = parse_spamd_reply(headers_reply(), err);
    REQUIRE_MESSAGE(r, err);
    CHECK(r->ok());
    CHECK(r->version == "1.1");
    CHECK(r->message == "EX_OK");
    CHECK(r->has_verdict);
    CHECK(r->spam);
    CHECK(r->score == doctest::Approx(1002.7));
    CHECK(r->threshold == doctest::Approx(5.0));
    CHECK(r->score_text == "1002.7");
    CHECK(r->threshold_text == "5.0");
    CHECK(r->body == kHeadersBody);
}

TEST_CASE("spamd: SYMBOLS, a ham verdict, negative scores, Yes/No flags and bare LF") {
    std::string err;
    auto r = parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nContent-length: 11\r\nSpam: False ; -1.9 / 5.0\r\n\r\nBAYES_00,X1", err);
    REQUIRE_MESSAGE(r, err);
    CHECK_FALSE(r->spam);
    CHECK(r->score == doctest::Approx(-1.9));
    CHECK(r->body == "BAYES_00,X1");
    r = parse_spamd_reply("SPAMD/1.5 0 EX_OK\nspam: yes;15/5\n\n", err);
    REQUIRE_MESSAGE(r, err);
    CHECK(r->spam);
    CHECK(r->score_text == "15");
    CHECK(r->body.empty());
}

TEST_CASE("spamd: an error reply parses with its code and no verdict") {
    std::string err;
    auto r = parse_spamd_reply("SPAMD/1.0 76 Bad header line: HEADERS SPAMC/9.9\r\n", err);
    REQUIRE_MESSAGE(r, err);
    CHECK_FALSE(r->ok());
    CHECK(r->code == 76);
    CHECK(r->message == "Bad header line: HEADERS SPAMC/9.9");
    CHECK_FALSE(r->has_verdict);
}

TEST_CASE("spamd: cut-off, foreign and malformed replies are errors") {
    std::string err;
    const std::string full = headers_reply();
    CHECK_FALSE(parse_spamd_reply("", err));
    CHECK_FALSE(parse_spamd_reply(full.substr(0, full.size() - 1), err));   // body short of Content-length
    CHECK(err.find("Content-length") != std::string::npos);
    CHECK_FALSE(parse_spamd_reply(full.substr(0, 30), err));                // inside the header
    CHECK_FALSE(parse_spamd_reply("220 mail.example ESMTP\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/x 0 EX_OK\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 zero EX_OK\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\n\r\n", err));       // OK without a verdict
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e9 / 5\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 5\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nContent-length: -1\r\nSpam: True ; 1 / 5\r\n\r\n", err));
    CHECK_FALSE(parse_spamd_reply("SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n", err));
    std::string many = "SPAMD/1.1 0 EX_OK\r\n";
    for (int i = 0; i < 100; ++i) many += "X: y\r\n";
    CHECK_FALSE(parse_spamd_reply(many + "Spam: True ; 1 / 5\r\n\r\n", err));
}

TEST_CASE("spamd: the X-Spam-* fields of a header block, folding kept, others skipped") {
    auto f = spam_header_fields(kHeadersBody);
    REQUIRE(f.size() == 4);
    CHECK(f[0].name == "X-Spam-Checker-Version");
    CHECK(f[1].name == "X-Spam-Flag");
    CHECK(f[1].value == "YES");
    CHECK(f[2].value == std::string(50, '*'));
    CHECK(f[3].name == "X-Spam-Status");
    CHECK(f[3].value ==
          "Yes, score=1002.7 required=5.0 tests=GTUBE,MISSING_DATE,\r\n"
          "\tMSGID_SHORT,NO_RECEIVED,NO_RELAYS,TVD_SPACE_RATIO autolearn=no\r\n\tautolearn_force=no version=4.0.1");
    // A continuation of a non-spam field is not glued to the previous spam field.
    f = spam_header_fields("X-Spam-Flag: NO\r\nSubject: a\r\n b\r\nX-SPAM-Level:\r\n\r\nX-Spam-After: body\r\n");
    REQUIRE(f.size() == 2);
    CHECK(f[0].value == "NO");
    CHECK(f[1].name == "X-SPAM-Level");
    CHECK(f[1].value.empty());
    // A bare CR or a non-printable name would break the header when written: skipped.
    f = spam_header_fields("X-Spam-Bad\rName: x\r\nX-Spam-Ok: a\r\n\tb\rc\r\n\td\r\nX-Spam-Sp ace: y\r\n");
    REQUIRE(f.size() == 1);
    CHECK(f[0].value == "a\r\n\td");
    CHECK(spam_header_fields("").empty());
    CHECK(spam_header_fields("X-Spam-:\r\n").empty());
}

TEST_CASE("spamd: X-Spam-Status with the test list folded after a comma") {
    auto st = parse_spam_status(spam_header_fields(kHeadersBody)[3].value);
    CHECK(st.verdict == "Yes");
    CHECK(st.score == "1002.7");
    CHECK(st.required == "5.0");
    CHECK(st.tests == std::vector<std::string>{"GTUBE", "MISSING_DATE", "MSGID_SHORT", "NO_RECEIVED", "NO_RELAYS",
                                               "TVD_SPACE_RATIO"});
    CHECK(st.autolearn == "no");
    CHECK(st.version == "4.0.1");
    st = parse_spam_status("No, hits=-0.1 required=5.0 tests=none");
    CHECK(st.verdict == "No");
    CHECK(st.score == "-0.1");
    CHECK(st.tests.empty());
    st = parse_spam_status("garbage");
    CHECK(st.verdict == "garbage");
    CHECK(st.score.empty());
}

}  // namespace ASMTPD_TEST_UNIT
