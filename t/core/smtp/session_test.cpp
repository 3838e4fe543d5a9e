// session_test.cpp - the SMTP state machine and the hook chain semantics, driven in memory.
#include <doctest/doctest.h>

#include "t/support/session_driver.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::test::code_of;
using asmtpd::test::SessionDriver;

namespace {
const char* kAccept = "test/answer rcpt OK\nqueue/discard\n";

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("greeting, EHLO keywords, QUIT") {
    SessionDriver d(kAccept);
    auto g = d.connect();
    CHECK(g.rfind("220 mx.test ", 0) == 0);
    CHECK(has(g, "ESMTP"));
    auto e = d.send("EHLO client.test\r\n");
    CHECK(has(e, "250-mx.test Hi Unknown [127.0.0.1]\r\n"));
    CHECK(has(e, "250-PIPELINING\r\n"));
    CHECK(has(e, "250-SIZE 26214400\r\n"));
    CHECK(has(e, "250-8BITMIME\r\n"));
    CHECK(has(e, "250-ENHANCEDSTATUSCODES\r\n"));
    CHECK(has(e, "250-SMTPUTF8\r\n"));
    CHECK(has(e, "250 DSN\r\n"));
    auto q = d.send("QUIT\r\n");
    CHECK(q.rfind("221 2.0.0 mx.test closing connection", 0) == 0);
    CHECK(d.closed());
    CHECK(d.finished);
}

TEST_CASE("sequence errors") {
    SessionDriver d(kAccept);
    d.connect();
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 503);
    CHECK(code_of(d.send("HELO\r\n")) == 501);
    CHECK(code_of(d.send("HELO c.test\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<a@b.test>\r\n")) == 503);
    CHECK(code_of(d.send("DATA\r\n")) == 503);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 503);
    CHECK(code_of(d.send("DATA\r\n")) == 503);
    CHECK(code_of(d.send("RSET\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<a@b.test>\r\n")) == 503);
    CHECK(code_of(d.send("FOO\r\n")) == 500);
    CHECK(code_of(d.send("EXPN list\r\n")) == 502);
    CHECK(code_of(d.send("NOOP\r\n")) == 250);
    CHECK(code_of(d.send("VRFY someone\r\n")) == 252);
    CHECK(code_of(d.send("HELP\r\n")) == 214);
}

TEST_CASE("DSN parameters (RFC 3461) are validated on MAIL and RCPT") {
    SessionDriver d(kAccept);
    d.connect();
    d.send("EHLO c.test\r\n");
    CHECK(code_of(d.send("MAIL FROM:<a@b.test> RET=SOMETIMES\r\n")) == 501);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test> ENVID=bad+0Aid\r\n")) == 501);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test> RET=HDRS ENVID=QQ314159\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<x@y.test> NOTIFY=NEVER,DELAY\r\n")) == 501);
    CHECK(code_of(d.send("RCPT TO:<x@y.test> ORCPT=rfc822\r\n")) == 501);
    CHECK(code_of(d.send("RCPT TO:<x@y.test> FOO=bar\r\n")) == 555);
    CHECK(code_of(d.send("RCPT TO:<x@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;o+2Bx@y.test\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<z@y.test>\r\n")) == 250);
    CHECK(code_of(d.send("RSET\r\n")) == 250);
    d.send("HELO c.test\r\n");   // no extensions offered, so no DSN parameters
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<x@y.test> NOTIFY=NEVER\r\n")) == 555);
}

TEST_CASE("a full transaction is queued and answered 250 only after the queue hook") {
    SessionDriver d("test/answer rcpt OK\ntest/later queue OK 30 Queued for test\n");
    d.connect();
    d.send("EHLO c.test\r\n");
    CHECK(d.send("MAIL FROM:<>\r\n").rfind("250 2.1.0 <>", 0) == 0);
    CHECK(d.send("RCPT TO:<x@y.test>\r\n").rfind("250 2.1.5 <x@y.test>", 0) == 0);
    CHECK(code_of(d.send("DATA\r\n")) == 354);
    auto r = d.send("Subject: hi\r\n\r\n..dot\r\n.\r\n");
    CHECK(r == "250 2.0.0 Queued for test\r\n");
}

TEST_CASE("rcpt with no deciding plugin fails closed with 450; DENY gives 550") {
    SessionDriver d("test/answer rcpt DECLINED\n");
    d.connect();
    d.send("HELO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d.send("RCPT TO:<x@y.test>\r\n").rfind("450 4.7.1 ", 0) == 0);
    SessionDriver d2("test/answer rcpt DECLINED\ntest/answer:2 rcpt DENY no such user\ntest/answer:3 rcpt OK\n");
    d2.connect();
    d2.send("HELO c.test\r\n");
    d2.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d2.send("RCPT TO:<x@y.test>\r\n") == "550 5.7.1 no such user\r\n");
}

TEST_CASE("OK stops the chain before a later DENY") {
    SessionDriver d("test/answer mail OK\ntest/answer:2 mail DENY never\ntest/answer:3 rcpt OK\n");
    d.connect();
    d.send("HELO c.test\r\n");
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
}

TEST_CASE("a plugin that throws is skipped; one that drops its call gets DENYSOFT") {
    SessionDriver d("test/throw mail\ntest/answer mail DENY after throw\n");
    d.connect();
    d.send("HELO c.test\r\n");
    CHECK(d.send("MAIL FROM:<a@b.test>\r\n") == "550 5.7.1 after throw\r\n");
    SessionDriver d2("test/drop mail\n");
    d2.connect();
    d2.send("HELO c.test\r\n");
    CHECK(code_of(d2.send("MAIL FROM:<a@b.test>\r\n")) == 450);
}

TEST_CASE("a second resolve is ignored") {
    SessionDriver d("test/twice mail OK\n");
    d.connect();
    d.send("HELO c.test\r\n");
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    CHECK(code_of(d.send("NOOP\r\n")) == 250);
}

TEST_CASE("plugin deadline gives 4xx plugin timeout and the late answer is dropped") {
    SessionDriver d("test/never rcpt\n", "timeouts: { plugin: 1 }\n");
    d.connect();
    d.send("HELO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    auto r = d.send("RCPT TO:<x@y.test>\r\n", 1);
    CHECK(r == "450 4.7.1 plugin timeout\r\n");
    CHECK(code_of(d.send("NOOP\r\n")) == 250);
}

TEST_CASE("pipelined commands wait for an async chain and are answered in order") {
    SessionDriver d("test/later mail OK 40\ntest/later:2 rcpt OK 20\nqueue/discard\n");
    d.connect();
    d.send("EHLO c.test\r\n");
    auto r = d.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<z@y.test>\r\nNOOP\r\n", 4);
    CHECK(r == "250 2.1.0 <a@b.test>, sender OK\r\n250 2.1.5 <x@y.test>, recipient ok\r\n"
               "250 2.1.5 <z@y.test>, recipient ok\r\n250 2.0.0 OK\r\n");
}

TEST_CASE("DENY_DISCONNECT replies and closes; DENYSOFT_DISCONNECT at rcpt gives 421") {
    SessionDriver d("test/answer helo DENY_DISCONNECT go away\n");
    d.connect();
    CHECK(d.send("HELO c.test\r\n") == "550 5.7.1 go away\r\n");
    CHECK(d.closed());
    SessionDriver d2("test/answer rcpt DENYSOFT_DISCONNECT\n");
    d2.connect();
    d2.send("HELO c.test\r\n");
    d2.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(code_of(d2.send("RCPT TO:<x@y.test>\r\n")) == 421);
    CHECK(d2.closed());
}

TEST_CASE("connect DENY refuses with 554 and closes; DENYSOFT with 421") {
    SessionDriver d("test/answer connect DENY\n");
    CHECK(code_of(d.connect()) == 554);
    CHECK(d.closed());
    SessionDriver d2("test/answer pre_connection DENYSOFT\n");
    CHECK(code_of(d2.connect()) == 421);
}

TEST_CASE("required hooks run when the client vanishes mid-transaction") {
    SessionDriver d("test/record reset_transaction\ntest/record:2 disconnect\ntest/record:3 post_connection\n"
                    "test/answer rcpt OK\n");
    d.connect();
    d.send("HELO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    d.session().on_eof();
    CHECK(d.finished);
    CHECK(d.session().notes()["record"] == "reset_transaction:;disconnect:;post_connection:;");
}

TEST_CASE("mail_pre may rewrite the address") {
    SessionDriver d("test/answer mail_pre OK <new@rewritten.test>\ntest/answer:2 rcpt OK\n");
    d.connect();
    d.send("HELO c.test\r\n");
    CHECK(d.send("MAIL FROM:<old@b.test>\r\n") == "250 2.1.0 <new@rewritten.test>, sender OK\r\n");
}

TEST_CASE("DATA: body sent before 354 is a synchronization error, never commands") {
    SessionDriver d(kAccept);
    d.connect();
    d.send("EHLO c.test\r\n");
    auto r = d.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\nMAIL FROM:<evil@x>\r\n", 3);
    CHECK(has(r, "554 5.5.0"));
    CHECK(d.closed());
}

TEST_CASE("SMTP smuggling: bare LF end is refused after the strict end, nothing queued") {
    SessionDriver d("test/answer rcpt OK\ntest/answer:2 queue DENY queue must not run\n");
    d.connect();
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    d.send("RCPT TO:<x@y.test>\r\n");
    d.send("DATA\r\n");
    auto r = d.send("body\n.\nMAIL FROM:<spoof@evil.test>\r\nRCPT TO:<x@y.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
    CHECK(r.rfind("554 5.5.2 ", 0) == 0);
    CHECK(!has(r, "queue must not run"));
    CHECK(d.closed());
}

TEST_CASE("databytes: oversize SIZE at MAIL gives 552; oversize body 552 after the dot") {
    SessionDriver d(kAccept, "limits: { databytes: 100 }\n");
    d.connect();
    d.send("EHLO c.test\r\n");
    CHECK(code_of(d.send("MAIL FROM:<a@b.test> SIZE=101\r\n")) == 552);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test> SIZE=100\r\n")) == 250);
    d.send("RCPT TO:<x@y.test>\r\n");
    d.send("DATA\r\n");
    CHECK(d.send(std::string(200, 'x') + "\r\n.\r\n").rfind("552 5.3.4", 0) == 0);
    CHECK(!d.closed());
}

TEST_CASE("max_rcpts: the next recipient gets 452 4.5.3") {
    SessionDriver d(kAccept, "limits: { max_rcpts: 2 }\n");
    d.connect();
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(code_of(d.send("RCPT TO:<x1@y.test>\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<x2@y.test>\r\n")) == 250);
    CHECK(d.send("RCPT TO:<x3@y.test>\r\n").rfind("452 4.5.3", 0) == 0);
}

TEST_CASE("too many errors: 421 and close") {
    SessionDriver d(kAccept, "limits: { max_errors: 3 }\n");
    d.connect();
    d.send("FOO\r\n");
    d.send("FOO\r\n");
    auto r = d.send("FOO\r\n", 2);
    CHECK(has(r, "421 4.7.0"));
    CHECK(d.closed());
}

TEST_CASE("over-long command line: 500 5.5.2 and the session goes on") {
    SessionDriver d(kAccept);
    d.connect();
    CHECK(d.send(std::string(600, 'A') + "\r\n").rfind("500 5.5.2", 0) == 0);
    CHECK(code_of(d.send("NOOP\r\n")) == 250);
}

TEST_CASE("HTTP request on the SMTP port is refused and closed") {
    SessionDriver d(kAccept);
    d.connect();
    CHECK(code_of(d.send("GET / HTTP/1.1\r\n")) == 554);
    CHECK(d.closed());
}

TEST_CASE("command timeout gives 421") {
    SessionDriver d(kAccept, "timeouts: { connect: 1, command: 1 }\n");
    d.connect();
    auto r = d.take_reply(1, 3000);
    CHECK(r.rfind("421 4.4.2", 0) == 0);
    CHECK(d.closed());
}

TEST_CASE("prefix_reply lines join the next reply as one multi-line reply") {
    SessionDriver d("test/prefix connect 220-hello there\ntest/prefix:2 rcpt 550-note\ntest/answer rcpt OK\n");
    auto g = d.connect();
    CHECK(g.rfind("220-hello there\r\n220 mx.test ", 0) == 0);
    d.send("HELO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "250-2.1.5 note\r\n250 2.1.5 <x@y.test>, recipient ok\r\n");
}

TEST_CASE("set_envelope_address replaces the stored recipient") {
    SessionDriver d("test/rewrite rcpt <new@z.test>\ntest/answer rcpt OK\ntest/record queue\ntest/answer:2 queue OK\n");
    d.connect();
    d.send("HELO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "250 2.1.5 <new@z.test>, recipient ok\r\n");
}


TEST_CASE("XFORWARD: trusted peers only, for one transaction; the connection stays the peer's") {
    SessionDriver d(kAccept, "trusted_proxies: [127.0.0.1/32]\n");
    d.connect();
    CHECK(has(d.send("EHLO c.test\r\n"), "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n"));
    const auto& info = d.session().info();
    const std::string own_host = info.remote_host;
    CHECK(d.send("XFORWARD ADDR=192.0.2.7 PORT=4711 NAME=mail.example.org\r\n").rfind("250 2.0.0 Ok\r\n", 0) == 0);
    CHECK(code_of(d.send("XFORWARD HELO=h.example IDENT=Q1\r\n")) == 250);   // they add up
    CHECK(info.remote_ip == "192.0.2.7");
    CHECK(info.remote_port == 4711);
    CHECK(info.remote_host == "mail.example.org");
    CHECK(info.helo_host == "h.example");
    CHECK(d.session().peer_ip() == "127.0.0.1");
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    CHECK(code_of(d.send("XFORWARD ADDR=192.0.2.8\r\n")) == 503);
    CHECK(code_of(d.send("RSET\r\n")) == 250);
    CHECK(info.remote_ip == "127.0.0.1");
    CHECK(info.remote_port == 40000);
    CHECK(info.remote_host == own_host);
    CHECK(info.helo_host == "c.test");
    CHECK(code_of(d.send("XFORWARD ADDR=IPV6:2001:db8::1\r\n")) == 250);
    CHECK(info.remote_host.empty());   // ADDR without NAME: the name is unknown
    CHECK(code_of(d.send("XFORWARD PORT=x\r\n")) == 501);
    // XCLIENT forgets the forwarded client and starts over from the peer's own address.
    CHECK(code_of(d.send("XCLIENT ADDR=192.0.2.9 NAME=[UNAVAILABLE]\r\n")) == 220);
    CHECK(info.remote_ip == "192.0.2.9");
    CHECK(d.session().peer_ip() == "192.0.2.9");
}

TEST_CASE("XFORWARD: untrusted peers are refused and not offered it") {
    SessionDriver d(kAccept);
    d.connect();
    CHECK_FALSE(has(d.send("EHLO c.test\r\n"), "XFORWARD"));
    auto r = d.send("XFORWARD ADDR=192.0.2.7\r\n");
    CHECK(r.rfind("550 5.7.0 ", 0) == 0);
    CHECK(d.session().info().remote_ip == "127.0.0.1");
}

}  // namespace ASMTPD_TEST_UNIT
