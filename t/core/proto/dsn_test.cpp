// dsn_test.cpp - tests core/proto/dsn.cpp: RFC 3461 NOTIFY, RET, ENVID, ORCPT, xtext encoding and
// the normal forms passed to a next hop.
#include "core/proto/dsn.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("dsn: NOTIFY") {
    auto n = parse_dsn_notify("NEVER");
    REQUIRE(n);
    CHECK(n->never());
    CHECK(format_dsn_notify(*n) == "NEVER");
    n = parse_dsn_notify("delay,Success");
    REQUIRE(n);
    CHECK(n->success);
    CHECK(n->delay);
    CHECK_FALSE(n->failure);
    CHECK(format_dsn_notify(*n) == "SUCCESS,DELAY");
    CHECK(format_dsn_notify(*parse_dsn_notify("FAILURE,DELAY,SUCCESS")) == "SUCCESS,FAILURE,DELAY");
    for (const char* bad : {"", ",", "SUCCESS,", ",FAILURE", "NEVER,SUCCESS", "SUCCESS,NEVER", "SUCCESS,SUCCESS",
                            "SUCCESS FAILURE", "SOMETIMES", "SUCCESS;FAILURE"}) {
        INFO(bad);
        auto r = parse_dsn_notify(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == 501);
        CHECK(r.error().esc == "5.5.4");
    }
}

TEST_CASE("dsn: RET and ENVID") {
    CHECK(*parse_dsn_ret("full") == DsnRet::Full);
    CHECK(*parse_dsn_ret("HDRS") == DsnRet::Hdrs);
    CHECK_FALSE(parse_dsn_ret("BODY"));
    CHECK_FALSE(parse_dsn_ret(""));
    CHECK(*parse_dsn_envid("QQ314159+2Bx") == "QQ314159+x");
    CHECK(*parse_dsn_envid("a+20b") == "a b");
    CHECK(parse_dsn_envid(std::string(100, 'x')));
    CHECK_FALSE(parse_dsn_envid(std::string(101, 'x')));
    CHECK(parse_dsn_envid(std::string(33, 'x') + std::string(67, 'y')));
    for (const char* bad : {"", "+", "+2", "+ZZ", "a+0Db", "a+7Fb", "a+C3+A9", "a=b"}) {
        INFO(bad);
        CHECK_FALSE(parse_dsn_envid(bad));
    }
}

TEST_CASE("dsn: ORCPT") {
    auto o = parse_dsn_orcpt("rfc822;Bob+2Bfilter@example.org");
    REQUIRE(o);
    CHECK(o->type == "rfc822");
    CHECK(o->address == "Bob+filter@example.org");
    CHECK(format_dsn_orcpt(*o) == "rfc822;Bob+2Bfilter@example.org");
    o = parse_dsn_orcpt("utf-8;J+C3+B6rg@example.org");   // RFC 6533 type; octets as xtext
    REQUIRE(o);
    CHECK(o->address == "J\xc3\xb6rg@example.org");
    CHECK(format_dsn_orcpt(*o) == "utf-8;J+C3+B6rg@example.org");
    for (const char* bad : {"", ";a@b", "rfc822", "rfc822;", "rfc 822;a@b", "rfc822;a+0D+0A@b", "rfc822;a+ZZ@b",
                            "rfc822;a=b", "r(fc;a@b"}) {
        INFO(bad);
        CHECK_FALSE(parse_dsn_orcpt(bad));
    }
    CHECK_FALSE(parse_dsn_orcpt("rfc822;" + std::string(494, 'a')));   // 501 octets
    CHECK(parse_dsn_orcpt("rfc822;" + std::string(493, 'a')));
}

TEST_CASE("dsn: xtext encoding round-trips") {
    CHECK(encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d");
    CHECK(encode_xtext("\xc3\xa9") == "+C3+A9");
    const std::string all = [] {
        std::string s;
        for (int c = 32; c < 256; ++c)
            if (c != 127) s += static_cast<char>(c);
        return s;
    }();
    auto back = decode_xtext(encode_xtext("x@y " + std::string("+=!~")));
    REQUIRE(back);
    CHECK(*back == "x@y +=!~");
    for (char c : encode_xtext(all)) CHECK((c > 32 && c < 127 && c != '='));
}

TEST_CASE("dsn: the parameters of MAIL and RCPT, and what a next hop gets") {
    std::vector<EsmtpParam> mail{{"SIZE", "10"}, {"RET", "hdrs"}, {"ENVID", "id+2B1"}};
    auto m = dsn_mail_params(mail);
    REQUIRE(m);
    CHECK(*m->ret == DsnRet::Hdrs);
    CHECK(*m->envid == "id+1");
    CHECK(format_dsn_mail(*m) == " RET=HDRS ENVID=id+2B1");
    CHECK(format_dsn_mail({}) == "");
    CHECK_FALSE(dsn_mail_params({{"RET", std::nullopt}}));
    CHECK_FALSE(dsn_mail_params({{"ENVID", std::nullopt}}));

    std::vector<EsmtpParam> rcpt{{"NOTIFY", "failure,delay"}, {"ORCPT", "rfc822;a@b.example"}};
    auto r = dsn_rcpt_params(rcpt);
    REQUIRE(r);
    CHECK(format_dsn_rcpt(*r) == " NOTIFY=FAILURE,DELAY ORCPT=rfc822;a@b.example");
    CHECK(format_dsn_rcpt({}) == "");
    CHECK_FALSE(dsn_rcpt_params({{"NOTIFY", "NEVER,DELAY"}}));
    CHECK_FALSE(dsn_rcpt_params({{"ORCPT", std::nullopt}}));
}

}  // namespace ASMTPD_TEST_UNIT
