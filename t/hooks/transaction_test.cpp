// transaction_test.cpp - tests hooks/transaction.cpp: the header prefix stays a well-formed
// header block whatever the Received text and plugin headers contain (no bare CR/LF, no
// early end of headers, no non-header lines), and message_size counts prefix plus body.
#include "hooks/transaction.hpp"

#include <doctest/doctest.h>

#include <uv.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::hooks::Transaction;

namespace {

// Every line ends in CRLF, no CR or LF anywhere else, no empty line, and each line is either
// "Name:" with a printable name or a continuation starting with SP/HTAB.
void check_header_block(const std::string& s) {
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto crlf = s.find("\r\n", pos);
        REQUIRE(crlf != std::string::npos);
        std::string line = s.substr(pos, crlf - pos);
        CAPTURE(line);
        CHECK(line.find('\r') == std::string::npos);
        CHECK(line.find('\n') == std::string::npos);
        CHECK(line.find('\0') == std::string::npos);
        REQUIRE_FALSE(line.empty());
        if (line[0] != ' ' && line[0] != '\t') {
            auto colon = line.find(':');
            REQUIRE(colon != std::string::npos);
            CHECK(colon > 0);
            for (std::size_t i = 0; i < colon; ++i) CHECK((line[i] > 32 && line[i] < 127));
        } else {
            CHECK(line.find_first_not_of(" \t") != std::string::npos);
        }
        pos = crlf + 2;
    }
}

}  // namespace

TEST_CASE("header_prefix: Received then added headers, CRLF-terminated") {
    Transaction t;
    CHECK(t.header_prefix().empty());
    t.received = "Received: from x (HELO y) (192.0.2.1)\r\n by mx.example with ESMTP; Sat, 21 Nov 2026 23:19:13 +0000\r\n";
    t.added_headers = {"X-Spam-Status: No", "Authentication-Results: mx.example; auth=none"};
    CHECK(t.header_prefix() ==
          "Received: from x (HELO y) (192.0.2.1)\r\n by mx.example with ESMTP; Sat, 21 Nov 2026 23:19:13 +0000\r\n"
          "X-Spam-Status: No\r\nAuthentication-Results: mx.example; auth=none\r\n");
    check_header_block(t.header_prefix());

    Transaction only_added;
    only_added.added_headers = {"X-A: 1"};
    CHECK(only_added.header_prefix() == "X-A: 1\r\n");
}

TEST_CASE("header_prefix: bare LF and bare CR become folds, never new headers") {
    Transaction t;
    t.added_headers = {"X-Evil: a\nBcc: victim@example.org", "X-Cr: a\rTo: x@example.org",
                       "X-Mixed: a\r\n\tb\n\rc"};
    auto p = t.header_prefix();
    CHECK(p == "X-Evil: a\r\n Bcc: victim@example.org\r\nX-Cr: a\r\n To: x@example.org\r\nX-Mixed: a\r\n\tb\r\n c\r\n");
    check_header_block(p);
}

TEST_CASE("header_prefix: empty lines cannot end the header block early") {
    Transaction t;
    t.added_headers = {"X-Body: a\n\nthis would be body", "X-Blank: b\r\n   \r\n\t\r\nafter"};
    auto p = t.header_prefix();
    CHECK(p == "X-Body: a\r\n this would be body\r\nX-Blank: b\r\n after\r\n");
    CHECK(p.find("\r\n\r\n") == std::string::npos);
    check_header_block(p);
}

TEST_CASE("header_prefix: trailing line endings are not doubled") {
    Transaction t;
    t.added_headers = {"X-A: 1\r\n", "X-B: 2\n", "X-C: 3\r\n\r\n", "X-D: 4\r"};
    CHECK(t.header_prefix() == "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n");
}

TEST_CASE("header_prefix: lines that are not headers are dropped whole") {
    Transaction t;
    t.added_headers = {"no colon here", ": empty name", " X-Leading: space", "Bad Name: x", "",
                       "\r\n", "X-Good: yes", "Na\x01me: ctl"};
    auto p = t.header_prefix();
    // "Na\x01me" loses its control character and becomes a valid name.
    CHECK(p == "X-Good: yes\r\nName: ctl\r\n");
    check_header_block(p);
}

TEST_CASE("header_prefix: NUL and other controls are stripped, TAB kept") {
    Transaction t;
    t.added_headers = {std::string("X-Nul: a\0b\x1b[31m\tc\x7f", 18)};
    auto p = t.header_prefix();
    CHECK(p == "X-Nul: ab[31m\tc\r\n");
    check_header_block(p);
}

TEST_CASE("header_prefix: hostile text never produces a malformed block") {
    const char* nasty[] = {"\n", "\r", "\r\n.\r\n", "X: \r\n.\r\nMAIL FROM:<a@b>\r\n", "X:\n\n\n", ":",
                           "X:\r\r\r\n\n\r", "\t\n X: y", "X: y\n\t\n \n\t", "A:\nB:\nC:\n"};
    Transaction t;
    t.received = "Received: from evil\n\n.\r\nRCPT TO:<x>";
    for (const char* n : nasty) t.added_headers.emplace_back(n);
    auto p = t.header_prefix();
    check_header_block(p);
    CHECK(p.find("\r\n\r\n") == std::string::npos);
    CHECK(p.rfind("Received: from evil\r\n .\r\n RCPT TO:<x>\r\n", 0) == 0);
}

TEST_CASE("message_size: prefix plus body") {
    Transaction t;
    CHECK(t.message_size() == 0);
    t.added_headers = {"X-A: 1"};
    CHECK(t.message_size() == 8);

    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        t.body = asmtpd::io::Spool::create(&loop, "/nonexistent", 1 << 20);
        t.body->append("Subject: hi\r\n\r\nbody\r\n");
        CHECK(t.message_size() == 8 + 21);
        t.added_headers.push_back("X-B: 22\n");   // counted with its CRLF
        CHECK(t.message_size() == 8 + 9 + 21);
        t.body.reset();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("edited header block: the prefix ends with it and the body counts from body_offset") {
    Transaction t;
    t.received = "Received: from x";
    t.added_headers = {"X-A: 1"};
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    {
        t.body = asmtpd::io::Spool::create(&loop, "/nonexistent", 1 << 20);
        t.body->append("Subject: hi\r\nX-Old: y\r\n\r\nbody\r\n");
        t.header_bytes = 23;
        const std::uint64_t before = t.message_size();
        // What the session does before queue_pre when plugins left edits.
        t.edited_headers = "Subject: hi\r\n";
        t.body_offset = t.header_bytes;
        CHECK(t.header_prefix() == "Received: from x\r\nX-A: 1\r\nSubject: hi\r\n");
        CHECK(t.body_size() == 8);
        CHECK(t.message_size() == before - 10);
        t.body_offset = 1000;   // never negative
        CHECK(t.body_size() == 0);
        t.body.reset();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
