// cmd_auth_test.cpp - tests core/smtp/cmd_auth.cpp around the auth_post hook (qmail-spp's
// [auth]): it runs only after the auth chain accepted the credentials, sees SMTPAUTHUSER and
// SMTPAUTHMETHOD, and only its DECLINED/OK authenticate; a refusal leaves no trace of a login.
#include <doctest/doctest.h>

#include <algorithm>

#include <string>

#include "core/proto/sasl.hpp"
#include "plugins/common/child_env.hpp"
#include "t/support/session_driver.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::test::code_of;
using asmtpd::test::SessionDriver;

namespace {
const char* kYaml = "tls_before_auth: false\n";

std::string plain(const std::string& user, const std::string& pass) {
    return "AUTH PLAIN " + asmtpd::proto::base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + pass) +
           "\r\n";
}

void ehlo(SessionDriver& d) {
    d.connect();
    REQUIRE(code_of(d.send("EHLO c.test\r\n")) == 250);
}

const std::map<std::string, std::string>& env(SessionDriver& d) { return d.session().connection().env; }
}  // namespace

TEST_CASE("auth_post: no plugin means 235; the qmail AUTH environment is built from the login for programs") {
    SessionDriver d("test/answer auth OK\nrcpt_ok\nqueue/discard\n", kYaml);
    ehlo(d);
    CHECK(d.send(plain("alice", "pw")) == "235 2.7.0 Authentication successful\r\n");
    const auto& c = d.session().connection();
    CHECK(c.auth_user == "alice");
    CHECK(c.auth_method == "plain");
    CHECK(c.relay_client);
    // The session keeps typed facts only; qmail's variables are the plugins' vocabulary.
    CHECK_FALSE(env(d).count("SMTPAUTHUSER"));
    auto child = asmtpd::plugins::tcpserver_environment(c, {});
    auto has = [&](const std::string& kv) { return std::find(child.begin(), child.end(), kv) != child.end(); };
    CHECK(has("SMTPAUTHUSER=alice"));
    CHECK(has("SMTPAUTHMETHOD=plain"));
    CHECK(has("RELAYCLIENT="));
    CHECK(has("TCPREMOTEINFO=alice"));
}

TEST_CASE("the child environment never passes a stale SMTPAUTHUSER for a login") {
    asmtpd::proto::ConnectionInfo c;
    c.env["SMTPAUTHUSER"] = "mallory";   // left behind by a refused [auth]
    c.env["SMTPAUTHMETHOD"] = "plain";
    auto child = asmtpd::plugins::tcpserver_environment(c, {});
    for (const auto& kv : child) CHECK(kv.rfind("SMTPAUTH", 0) != 0);
}

TEST_CASE("auth_post runs after the auth chain, with the user in its arguments and nothing granted yet") {
    SessionDriver d("test/record auth_login\ntest/record:2 auth\ntest/answer auth OK\ntest/record:3 auth_post\n"
                    "test/never auth_post\n",
                    kYaml);
    ehlo(d);
    d.send("AUTH LOGIN\r\n");
    d.send(asmtpd::proto::base64_encode("bob") + "\r\n");
    d.session().on_read(asmtpd::proto::base64_encode("secret") + "\r\n");
    CHECK(d.take_reply(1, 200).empty());   // auth_post never answers
    CHECK(d.session().notes().at("record") == "auth_login:bob;auth:bob;auth_post:bob;");
    const auto& c = d.session().connection();
    CHECK(c.auth_user.empty());
    CHECK_FALSE(c.relay_client);
    CHECK_FALSE(env(d).count("RELAYCLIENT"));
    CHECK_FALSE(env(d).count("TCPREMOTEINFO"));
}

TEST_CASE("auth_post is not reached by bad credentials") {
    SessionDriver d("test/answer auth DENY\ntest/record auth_post\n", kYaml);
    ehlo(d);
    CHECK(d.send(plain("alice", "wrong")) == "535 5.7.8 Authentication failed\r\n");
    CHECK_FALSE(d.session().notes().count("record"));
    CHECK_FALSE(env(d).count("SMTPAUTHUSER"));
    CHECK_FALSE(env(d).count("SMTPAUTHMETHOD"));
}

TEST_CASE("auth_post DENY: the reply, no login, no relaying, the variables unset; AUTH may be tried again") {
    SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post DENY not from here\nrcpt_ok\nqueue/discard\n", kYaml);
    ehlo(d);
    CHECK(d.send(plain("alice", "pw")) == "535 5.7.8 not from here\r\n");
    const auto& c = d.session().connection();
    CHECK(c.auth_user.empty());
    CHECK(c.auth_method.empty());
    CHECK_FALSE(c.relay_client);
    for (const char* v : {"SMTPAUTHUSER", "SMTPAUTHMETHOD", "RELAYCLIENT", "TCPREMOTEINFO"}) {
        CAPTURE(v);
        CHECK_FALSE(env(d).count(v));
    }
    // Not authenticated: AUTH is still offered and allowed, and relaying is refused.
    CHECK(d.send("EHLO c.test\r\n").find("AUTH") != std::string::npos);
    CHECK(code_of(d.send("MAIL FROM:<a@b.test>\r\n")) == 250);
    CHECK(code_of(d.send("RCPT TO:<x@foreign.test>\r\n")) == 550);
    CHECK(code_of(d.send("RSET\r\n")) == 250);
    CHECK(code_of(d.send(plain("alice", "pw"))) == 535);   // the same plugin again
}

TEST_CASE("auth_post DENYSOFT, OK, and the disconnect results") {
    SUBCASE("DENYSOFT") {
        SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post DENYSOFT\n", kYaml);
        ehlo(d);
        CHECK(d.send(plain("a", "b")) == "454 4.7.0 Temporary authentication failure\r\n");
        CHECK(d.session().connection().auth_user.empty());
        CHECK_FALSE(d.closed());
    }
    SUBCASE("OK stops the chain and authenticates") {
        SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post OK\ntest/answer:3 auth_post DENY\n", kYaml);
        ehlo(d);
        CHECK(code_of(d.send(plain("a", "b"))) == 235);
        CHECK(d.session().connection().auth_user == "a");
        CHECK(code_of(d.send(plain("a", "b"))) == 503);   // already authenticated
    }
    SUBCASE("DENY_DISCONNECT") {
        SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post DENY_DISCONNECT go\n", kYaml);
        ehlo(d);
        CHECK(d.send(plain("a", "b")) == "535 5.7.8 go\r\n");
        CHECK(d.closed());
    }
    SUBCASE("DENYSOFT_DISCONNECT") {
        SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post DENYSOFT_DISCONNECT\n", kYaml);
        ehlo(d);
        CHECK(code_of(d.send(plain("a", "b"))) == 421);
        CHECK(d.closed());
    }
    SUBCASE("DONE: the plugin answered; not authenticated") {
        SessionDriver d("test/answer auth OK\ntest/answer:2 auth_post DONE\n", kYaml);
        ehlo(d);
        d.session().on_read(plain("a", "b"));
        CHECK(d.take_reply(1, 200).empty());
        CHECK(d.session().connection().auth_user.empty());
        CHECK_FALSE(env(d).count("SMTPAUTHUSER"));
    }
}

TEST_CASE("auth_post: a slow plugin holds pipelined commands; its P-style prefix joins the 235") {
    SessionDriver d("test/answer auth OK\ntest/prefix auth_post 235-welcome\ntest/later auth_post OK 40\n"
                    "rcpt_ok\nqueue/discard\n",
                    kYaml);
    ehlo(d);
    auto r = d.send(plain("alice", "pw") + "MAIL FROM:<alice@b.test>\r\nRCPT TO:<x@foreign.test>\r\n", 3);
    CHECK(r == "235-2.7.0 welcome\r\n235 2.7.0 Authentication successful\r\n"
               "250 2.1.0 <alice@b.test>, sender OK\r\n250 2.1.5 <x@foreign.test>, recipient ok\r\n");
}

TEST_CASE("auth pre-checks stay: inside a transaction and twice") {
    SessionDriver d("test/answer auth OK\ntest/record auth_post\ntest/answer:2 rcpt OK\n", kYaml);
    ehlo(d);
    d.send("MAIL FROM:<a@b.test>\r\n");
    CHECK(code_of(d.send(plain("a", "b"))) == 503);
    CHECK_FALSE(d.session().notes().count("record"));
    d.send("RSET\r\n");
    CHECK(code_of(d.send(plain("a", "b"))) == 235);
    CHECK(code_of(d.send(plain("a", "b"))) == 503);
    CHECK(d.session().notes().at("record") == "auth_post:a;");
}

}  // namespace ASMTPD_TEST_UNIT
