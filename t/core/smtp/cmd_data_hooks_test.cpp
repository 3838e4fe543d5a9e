// cmd_data_hooks_test.cpp - the hooks around DATA in qpsmtpd's order: data_headers_end while
// the client streams, then after the dot data_post_headers, received_line, data_post; and the
// logging hook, which sees the session's log lines.
#include <doctest/doctest.h>

#include <string>

#include "core/smtp/received.hpp"
#include "t/support/session_driver.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::test::code_of;
using asmtpd::test::SessionDriver;

namespace {

const char* const kEnvelope = "test/answer rcpt OK\n";

void open_data(SessionDriver& d) {
    d.connect();
    REQUIRE(code_of(d.send("EHLO c.test\r\n")) == 250);
    REQUIRE(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    REQUIRE(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
    REQUIRE(code_of(d.send("DATA\r\n")) == 354);
}

std::string record(SessionDriver& d) {
    auto& n = d.session().notes();
    auto it = n.find("record");
    return it == n.end() ? std::string() : it->second;
}

}  // namespace

TEST_CASE("data hooks run once each, in qpsmtpd's order, and the message is queued") {
    SessionDriver d(std::string(kEnvelope) +
                    "test/record data_post\ntest/record:2 data_post_headers\ntest/record:3 data_headers_end\n"
                    "test/record:4 received_line\nqueue/discard\n");
    open_data(d);
    d.session().on_read("Subject: one\r\nX-Two: 2\r\n\r\n");
    CHECK(record(d) == "data_headers_end:;");   // at the blank line, before the dot
    CHECK(code_of(d.send("body\r\n.\r\n")) == 250);
    CHECK(record(d) == "data_headers_end:;data_post_headers:;received_line:ESMTP;data_post:;");
}

TEST_CASE("data_headers_end runs at the end of data when no blank line ends the header block") {
    SessionDriver d(std::string(kEnvelope) + "test/record data_headers_end\nqueue/discard\n");
    open_data(d);
    CHECK(code_of(d.send("Subject: no body\r\n.\r\n")) == 250);
    CHECK(record(d) == "data_headers_end:;");
}

TEST_CASE("a data_headers_end DENY is answered at the final dot, and nothing is queued") {
    SessionDriver d(std::string(kEnvelope) + "test/answer:2 data_headers_end DENY bad headers\ntest/record data_post\n"
                                             "queue/discard\n");
    open_data(d);
    d.session().on_read("Subject: x\r\n\r\n");
    CHECK(d.take_reply(1, 100).empty());   // no reply in the middle of DATA
    std::string r = d.send("body\r\n.\r\n");
    CHECK(code_of(r) == 554);
    CHECK(r.find("bad headers") != std::string::npos);
    CHECK(record(d).empty());              // data_post never ran
    CHECK(d.session().transaction() == nullptr);
    CHECK(code_of(d.send("NOOP\r\n")) == 250);   // the session goes on
}

TEST_CASE("a data_headers_end DENY_DISCONNECT answers at once and closes, before the dot") {
    SessionDriver d(std::string(kEnvelope) + "test/answer:2 data_headers_end DENY_DISCONNECT go away\nqueue/discard\n");
    open_data(d);
    std::string r = d.send("Subject: x\r\n\r\n");
    CHECK(code_of(r) == 554);
    CHECK(d.session().phase() >= asmtpd::smtp::Phase::Closing);
}

TEST_CASE("a slow data_headers_end holds the final dot until it answers") {
    SessionDriver d(std::string(kEnvelope) + "test/later data_headers_end DENYSOFT 50 slow down\nqueue/discard\n");
    open_data(d);
    std::string r = d.send("Subject: x\r\n\r\nbody\r\n.\r\n");   // headers and dot in one read
    CHECK(code_of(r) == 451);
    CHECK(r.find("slow down") != std::string::npos);
}

TEST_CASE("a data_post_headers refusal refuses the message as data_post does") {
    SessionDriver d(std::string(kEnvelope) + "test/answer:2 data_post_headers DENY dkim says no\nqueue/discard\n");
    open_data(d);
    std::string r = d.send("Subject: x\r\n\r\nbody\r\n.\r\n");
    CHECK(code_of(r) == 552);
    CHECK(r.find("dkim says no") != std::string::npos);
}

TEST_CASE("received_line OK replaces the Received header; its lines are folded and cleaned") {
    SessionDriver d(std::string(kEnvelope) +
                    "test/answer:2 received_line OK from c.test by mx.test\ntest/received data_post\nqueue/discard\n");
    open_data(d);
    CHECK(code_of(d.send("Subject: x\r\n\r\nbody\r\n.\r\n")) == 250);
    CHECK(d.session().notes().at("received") == "Received: from c.test by mx.test\r\n");
    CHECK(asmtpd::smtp::received_from_plugin("a\nb\r\x01x\n") == "Received: a\r\n\tb??x\r\n");   // a lone CR is no line break

    SessionDriver standard(std::string(kEnvelope) + "test/record received_line\ntest/received data_post\nqueue/discard\n");
    open_data(standard);
    CHECK(code_of(standard.send("Subject: x\r\n\r\nbody\r\n.\r\n")) == 250);
    CHECK(standard.session().notes().at("received").rfind("Received: from c.test (", 0) == 0);
}

TEST_CASE("the logging hook sees the session's log lines at log_level, with no loop through itself") {
    SessionDriver d(std::string(kEnvelope) + "test/record logging\nqueue/discard\n");
    d.capture_log(asmtpd::io::Level::Info);
    open_data(d);
    CHECK(code_of(d.send("Subject: x\r\n\r\nbody\r\n.\r\n")) == 250);
    const std::string seen = record(d);
    CHECK(seen.find("logging:mail from <a@b.test>;") != std::string::npos);
    CHECK(seen.find("logging:queued: ") != std::string::npos);
    CHECK(d.log_text().find("mail from <a@b.test>") != std::string::npos);   // still logged too

    SessionDriver quiet(std::string(kEnvelope) + "test/record logging\nqueue/discard\n");
    quiet.capture_log(asmtpd::io::Level::Error);
    open_data(quiet);
    CHECK(code_of(quiet.send("Subject: x\r\n\r\nbody\r\n.\r\n")) == 250);
    CHECK(record(quiet).empty());   // nothing at or below error: nothing offered
}

TEST_CASE("a body observer sees the content as it arrives, dot-unstuffed, then the end") {
    SessionDriver d(std::string(kEnvelope) + "test/observe data\nqueue/discard\n");
    open_data(d);
    d.session().on_read("Subject: x\r\n\r\n..dot\r\n");
    d.session().on_read("line two\r\n");
    CHECK_FALSE(d.session().notes().count("observed"));   // not ended yet
    CHECK(code_of(d.send(".\r\n")) == 250);
    const std::string seen = d.session().notes().at("observed");
    CHECK(seen.rfind("Subject: x\r\n\r\n.dot\r\nline two\r\n|", 0) == 0);
    CHECK(seen.size() >= 4);
    CHECK(seen.substr(seen.size() - 4) == "|end");
}

TEST_CASE("a body observer of a message refused for its size never sees the end") {
    SessionDriver d(std::string(kEnvelope) + "test/observe data\nqueue/discard\n", "limits:\n  databytes: 10\n");
    open_data(d);
    CHECK(code_of(d.send("Subject: far too long for ten bytes\r\n\r\nbody\r\n.\r\n")) == 552);
    CHECK_FALSE(d.session().notes().count("observed"));
}

}  // namespace ASMTPD_TEST_UNIT
