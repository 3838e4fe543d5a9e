// cmd_envelope_test.cpp - tests core/smtp/cmd_envelope.cpp around an accepted recipient:
// qmail's RELAYCLIENT suffix on the stored address, then the rcpt_post hook (qmail-spp's
// [pass]) with the recipient already counted, whose refusal takes it out of the envelope.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "plugins/common/relay_client.hpp"
#include "t/support/session_driver.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::test::code_of;
using asmtpd::test::SessionDriver;

namespace {

void mail(SessionDriver& d) {
    d.connect();
    REQUIRE(code_of(d.send("EHLO c.test\r\n")) == 250);
    REQUIRE(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
}

std::vector<std::string> stored(SessionDriver& d) {
    std::vector<std::string> out;
    if (auto* t = d.session().transaction())
        for (const auto& a : t->recipients) out.push_back(a.format());
    return out;
}

// What tcp.env gives a client: RELAYCLIENT and, with it, relaying.
void relay_env(SessionDriver& d, const std::string& value) {
    d.session().connection().env["RELAYCLIENT"] = value;
    d.session().connection().relay_client = true;
}

using V = std::vector<std::string>;
}  // namespace

TEST_CASE("rcpt_post runs only for recipients the whole rcpt chain accepted") {
    SessionDriver d("test/answer rcpt_pre DECLINED\ntest/record rcpt\ntest/record:2 rcpt_post\nrcpt_ok\nqueue/discard\n",
                    "", {{"rcpthosts", "y.test\n"}});
    mail(d);
    CHECK(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<x@foreign.test>\r\n")) == 550);   // rcpt_ok refuses: no rcpt_post
    CHECK(code_of(d.send("RCPT TO:<z@y.test>\r\n")) == 250);
    CHECK(d.session().notes().at("record") ==
          "rcpt:<x@y.test>;rcpt_post:<x@y.test>;rcpt:<x@foreign.test>;rcpt:<z@y.test>;rcpt_post:<z@y.test>;");
    CHECK(stored(d) == V{"<x@y.test>", "<z@y.test>"});
}

TEST_CASE("mail_pre and rcpt_pre handlers see the path the client wrote") {
    SessionDriver d("test/record mail_pre\ntest/record:2 rcpt_pre\nrcpt_ok\n", "", {{"rcpthosts", "y.test\n"}});
    mail(d);
    CHECK(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
    CHECK(d.session().notes().at("record") == "mail_pre:<a@b.test>;rcpt_pre:<x@y.test>;");
}

TEST_CASE("rcpt_post sees the recipient in the envelope already (qmail-spp's SMTPRCPTCOUNT)") {
    SessionDriver d("test/answer rcpt OK\ntest/never rcpt_post\n");
    mail(d);
    d.session().on_read("RCPT TO:<x@y.test>\r\n");
    CHECK(d.take_reply(1, 200).empty());
    CHECK(stored(d) == V{"<x@y.test>"});
}

TEST_CASE("a rcpt_post refusal takes the recipient out again; the next one is counted right") {
    SessionDriver d("test/answer rcpt OK\ntest/answer:2 rcpt_post DENY not this one\n");
    mail(d);
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "550 5.7.1 not this one\r\n");
    CHECK(stored(d).empty());
    CHECK(code_of(d.send("DATA\r\n")) == 503);   // no valid recipient

    SessionDriver s("test/answer rcpt OK\ntest/answer:2 rcpt_post DENYSOFT\n");
    mail(s);
    CHECK(s.send("RCPT TO:<x@y.test>\r\n") == "450 4.7.1 Recipient temporarily denied\r\n");
    CHECK(stored(s).empty());

    SessionDriver c("test/answer rcpt OK\ntest/answer:2 rcpt_post DENY_DISCONNECT\n");
    mail(c);
    CHECK(code_of(c.send("RCPT TO:<x@y.test>\r\n")) == 550);
    CHECK(c.closed());
}

TEST_CASE("rcpt_post OK or DECLINED keeps the recipient; set_envelope_address replaces it") {
    SessionDriver d("test/answer rcpt OK\ntest/rewrite rcpt_post <moved@z.test>\ntest/answer:2 rcpt_post OK\n");
    mail(d);
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "250 2.1.5 <moved@z.test>, recipient ok\r\n");
    CHECK(stored(d) == V{"<moved@z.test>"});
    // A rewrite made by the rcpt chain is not carried into rcpt_post's.
    SessionDriver e("test/rewrite rcpt <r@z.test>\ntest/answer rcpt OK\ntest/record rcpt_post\n");
    mail(e);
    CHECK(e.send("RCPT TO:<x@y.test>\r\n") == "250 2.1.5 <r@z.test>, recipient ok\r\n");
    CHECK(e.session().notes().at("record") == "rcpt_post:<r@z.test>;");
    CHECK(stored(e) == V{"<r@z.test>"});
}

TEST_CASE("RELAYCLIENT suffix: appended to the (rewritten) address of a relay client's recipient") {
    SessionDriver d("test/rewrite rcpt <c@changed.test>\ntest/answer rcpt OK\ntest/record rcpt_post\n");
    d.connect();
    relay_env(d, "-gw");
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "250 2.1.5 <c@changed.test-gw>, recipient ok\r\n");
    CHECK(stored(d) == V{"<c@changed.test-gw>"});
    CHECK(d.session().notes().at("record") == "rcpt_post:<c@changed.test-gw>;");   // [pass] sees it
}

TEST_CASE("RELAYCLIENT suffix: '@domain' routes through one domain; bare postmaster too") {
    SessionDriver d("test/answer rcpt OK\n");
    d.connect();
    relay_env(d, "@gw.example");
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(code_of(d.send("RCPT TO:<x@y.test>\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<postmaster>\r\n")) == 250);
    CHECK(stored(d) == V{"<\"x@y.test\"@gw.example>", "<postmaster@gw.example>"});
}

TEST_CASE("RELAYCLIENT suffix: none when empty, for a non-relay client, or after AUTH") {
    SessionDriver d("test/answer rcpt OK\n");
    d.connect();
    relay_env(d, "");
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    d.send("RCPT TO:<x@y.test>\r\n");
    CHECK(stored(d) == V{"<x@y.test>"});

    SessionDriver n("test/answer rcpt OK\n");
    n.connect();
    n.session().connection().env["RELAYCLIENT"] = "-gw";   // taken away again (norelayclients)
    n.send("EHLO c.test\r\n");
    n.send("MAIL FROM:<a@b.test>\r\n");
    n.send("RCPT TO:<x@y.test>\r\n");
    CHECK(stored(n) == V{"<x@y.test>"});

    // qmail's AUTH patches set relayclient = "": the suffix is gone for the rest of the session.
    SessionDriver a("test/answer auth OK\ntest/answer:2 rcpt OK\n", "tls_before_auth: false\n");
    a.connect();
    relay_env(a, "-gw");
    a.send("EHLO c.test\r\n");
    REQUIRE(code_of(a.send("AUTH PLAIN " + asmtpd::proto::base64_encode(std::string("\0u\0p", 4)) + "\r\n")) == 235);
    a.send("MAIL FROM:<a@b.test>\r\n");
    a.send("RCPT TO:<x@y.test>\r\n");
    CHECK(stored(a) == V{"<x@y.test>"});
}

TEST_CASE("RELAYCLIENT suffix: the value noted at connect wins over a later environment change") {
    SessionDriver d("test/answer rcpt OK\n");
    d.connect();
    relay_env(d, "-start");
    asmtpd::plugins::note_relay_client(d.session().connection(), d.session().notes());
    d.session().connection().env["RELAYCLIENT"] = "-later";   // spp "S RELAYCLIENT=-later"
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    d.send("RCPT TO:<x@y.test>\r\n");
    CHECK(stored(d) == V{"<x@y.test-start>"});
}

TEST_CASE("RELAYCLIENT suffix: a result that is no valid address refuses the recipient (451)") {
    SessionDriver d("test/answer rcpt OK\ntest/record rcpt_post\n");
    d.connect();
    relay_env(d, "-" + std::string(300, 'x'));
    d.send("EHLO c.test\r\n");
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(d.send("RCPT TO:<x@y.test>\r\n") == "451 4.3.0 Recipient address rewrite failed\r\n");
    CHECK(stored(d).empty());
    CHECK_FALSE(d.session().notes().count("record"));
}

}  // namespace ASMTPD_TEST_UNIT
