// header_edits_test.cpp - tests core/smtp/header_edits.cpp: the plugins' header edits are
// applied once, between data_post and queue_pre, and queue/maildir then holds Received + the
// edited block + the body; without edits the message is as it always was. Both spool kinds
// (memory, and a file read back asynchronously) give the same message.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "t/support/session_driver.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::test::code_of;
using asmtpd::test::SessionDriver;

namespace {

const std::string kHeaders =
    "Authentication-Results: mx.test; spf=pass\r\n"
    "Subject: original\r\n"
    "X-Keep: folded\r\n\tline\r\n"
    "Authentication-Results: other.test; dkim=fail\r\n";
const std::string kBody = "\r\nbody line\r\n..dot line\r\n";

std::string only_message(const std::string& dir) {
    std::string found;
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/new")) {
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        found = ss.str();
        ++n;
    }
    CHECK(n == 1);
    return found;
}

std::string send_message(const std::string& plugins_before_queue, const std::string& yaml = "") {
    const std::string maildir = (std::filesystem::temp_directory_path() /
                                 ("asmtpd-edit-" + std::to_string(::getpid()) + "-" +
                                  std::to_string(std::hash<std::string>{}(plugins_before_queue + yaml))))
                                    .string();
    std::filesystem::remove_all(maildir);
    std::string out;
    {
        SessionDriver d("test/answer rcpt OK\n" + plugins_before_queue + "queue/maildir " + maildir + "\n", yaml);
        d.connect();
        REQUIRE(code_of(d.send("EHLO c.test\r\n")) == 250);
        REQUIRE(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
        REQUIRE(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
        REQUIRE(code_of(d.send("DATA\r\n")) == 354);
        std::string reply = d.send(kHeaders + "\r\nbody line\r\n...dot line\r\n.\r\n");
        CHECK(code_of(reply) == 250);
        out = only_message(maildir);
    }
    std::filesystem::remove_all(maildir);
    return out;
}

// The message without queue/maildir's envelope fields (Return-Path, Delivered-To) and our
// Received header (the first field after them, folded over several lines).
std::string after_received(std::string m) {
    while (m.rfind("Return-Path: ", 0) == 0 || m.rfind("Delivered-To: ", 0) == 0) m.erase(0, m.find("\r\n") + 2);
    REQUIRE(m.rfind("Received: ", 0) == 0);
    std::size_t pos = m.find("\r\n");
    while (pos != std::string::npos && pos + 2 < m.size() && (m[pos + 2] == ' ' || m[pos + 2] == '\t'))
        pos = m.find("\r\n", pos + 2);
    return m.substr(pos + 2);
}

}  // namespace

TEST_CASE("without edits the message is delivered as received (after Received)") {
    CHECK(after_received(send_message("")) == kHeaders + kBody);
}

TEST_CASE("edits from data_post reach the maildir: rename, delete, change, insert") {
    const std::string edits =
        "test/edit data_post rename Authentication-Results 1 Original-Authentication-Results\n"
        "test/edit:2 data_post delete X-Keep 1\n"
        "test/edit:3 data_post change subject 1 changed value\n"
        "test/edit:4 data_post insert X-Top 0 first\n";
    const std::string expect =
        "X-Top: first\r\n"
        "Original-Authentication-Results: mx.test; spf=pass\r\n"
        "Subject: changed value\r\n"
        "Authentication-Results: other.test; dkim=fail\r\n" + kBody;
    CHECK(after_received(send_message(edits)) == expect);
    // A spool in a file (memory_spool 0) is read back asynchronously: the same message.
    CHECK(after_received(send_message(edits, "limits:\n  memory_spool: 0\n")) == expect);
}

TEST_CASE("edits added after data_post are not applied") {
    CHECK(after_received(send_message("test/edit queue_pre delete Subject 1\n")) == kHeaders + kBody);
}

TEST_CASE("a message without a blank line: the whole content is the header block") {
    const std::string maildir = (std::filesystem::temp_directory_path() /
                                 ("asmtpd-edit-nobody-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(maildir);
    {
        SessionDriver d("test/answer rcpt OK\ntest/edit data_post delete Subject 1\nqueue/maildir " + maildir + "\n");
        d.connect();
        REQUIRE(code_of(d.send("EHLO c.test\r\n")) == 250);
        REQUIRE(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
        REQUIRE(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
        REQUIRE(code_of(d.send("DATA\r\n")) == 354);
        CHECK(code_of(d.send("Subject: s\r\nX-A: 1\r\n.\r\n")) == 250);
        CHECK(after_received(only_message(maildir)) == "X-A: 1\r\n");
    }
    std::filesystem::remove_all(maildir);
}

}  // namespace ASMTPD_TEST_UNIT
