// command_test.cpp - tests core/proto/command.cpp: verb split, MAIL/RCPT argument grammar,
// ESMTP parameters and xtext, with Postfix smtpd_token.in style odd quoting and junk.
#include "core/proto/command.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/proto/address.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

std::string with_nul(std::string s, std::size_t at) {
    s.insert(at, 1, '\0');
    return s;
}

void check_bad_mail(std::string_view args) {
    CAPTURE(args);
    auto r = parse_mail_args(args);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 501);
    CHECK(r.error().esc == "5.5.4");
}

void check_bad_rcpt(std::string_view args) {
    CAPTURE(args);
    auto r = parse_rcpt_args(args);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 501);
    CHECK(r.error().esc == "5.5.4");
}

}  // namespace

TEST_CASE("parse_command: verbs and arguments") {
    auto c = parse_command("mail FROM:<a@b> SIZE=10");
    CHECK(c.verb == "MAIL");
    CHECK(c.args == "FROM:<a@b> SIZE=10");
    CHECK(c.valid_verb);

    c = parse_command("QUIT");
    CHECK(c.verb == "QUIT");
    CHECK(c.args == "");
    CHECK(c.valid_verb);

    c = parse_command("ehlo  client.example   ");
    CHECK(c.verb == "EHLO");
    CHECK(c.args == " client.example");   // only trailing space is trimmed
    CHECK(c.valid_verb);

    c = parse_command("NOOP \t ");
    CHECK(c.args == "");

    c = parse_command("");
    CHECK(c.verb == "");
    CHECK_FALSE(c.valid_verb);

    c = parse_command(" HELO x");           // leading space: empty first word
    CHECK(c.verb == "");
    CHECK_FALSE(c.valid_verb);
    CHECK(c.args == "HELO x");

    CHECK(parse_command("X123456789AB").valid_verb);       // 12
    CHECK_FALSE(parse_command("X123456789ABC").valid_verb);  // 13
    CHECK(parse_command("Starttls").verb == "STARTTLS");
    CHECK(parse_command("8BIT").valid_verb);
    for (const char* bad : {"MA-IL x", "MAIL:", "Subject: hi", "GET/ HTTP/1.0", "HE\tLO x",
                            "\xc3\xa9HLO x", "HELO\r", "HE.LO"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_command(bad).valid_verb);
    }
    auto n = parse_command(with_nul("HELO x", 2));
    CHECK_FALSE(n.valid_verb);
    CHECK(n.verb == std::string("HE\0LO", 5));   // NUL kept, not truncated
    CHECK(parse_command("helo \xc3\xa9").verb == "HELO");  // upper-casing is ASCII only
    CHECK(parse_command("h\xc3\xa9lo").verb == "H\xc3\xa9LO");
}

TEST_CASE("parse_mail_args: paths") {
    struct Case {
        std::string args, path;
    };
    const std::vector<Case> ok = {
        {"FROM:<a@b>", "<a@b>"},
        {"from:<a@b>", "<a@b>"},
        {"From:<a@b>", "<a@b>"},
        {"FROM: <a@b>", "<a@b>"},        // tolerated space after the colon
        {"FROM:   <a@b>", "<a@b>"},
        {" FROM:<a@b>", "<a@b>"},
        {"FROM:<a@b>  ", "<a@b>"},
        {"FROM:<>", "<>"},
        {"FROM:", "<>"},                 // empty is the null sender
        {"FROM: ", "<>"},
        {"FROM:<\"quoted user\"@x>", "<\"quoted user\"@x>"},
        {"FROM:<\"a>b\"@x>", "<\"a>b\"@x>"},
        {"FROM:<\"a\\\">\"@x>", "<\"a\\\">\"@x>"},
        {"FROM:<\"a\\\\\"@x>", "<\"a\\\\\"@x>"},
        {"FROM:<@r:a@b>", "<@r:a@b>"},
        {"FROM:<a b@c>", "<a b@c>"},       // delimited here, refused by parse_path
        {"FROM:<a<b@c>", "<a<b@c>"},
    };
    for (const auto& c : ok) {
        CAPTURE(c.args);
        auto r = parse_mail_args(c.args);
        REQUIRE(r.ok());
        CHECK(r->path == c.path);
        CHECK(r->params.empty());
    }
    CHECK_FALSE(parse_path(parse_mail_args("FROM:<a b@c>")->path, sender_rules()).ok());
    CHECK(parse_path(parse_mail_args("FROM:")->path, sender_rules())->is_null());

    for (const char* bad : {"", "FROM", "FROM<a@b>", "FROM :<a@b>", "TO:<a@b>", "FROMX:<a@b>",
                            "FROM:a@b", "FROM:a@b SIZE=1", "FROM:<a@b", "FROM:<a@b>x",
                            "FROM:<a@b>SIZE=1", "FROM:<\"a>@b", "FROM:<\"a\\\">@b", "FROM:\t<a@b>",
                            "FROM:<a@b>\tSIZE=1", "FROM:<>>", "FROM:\"<a@b>\"", "FROM:<a@b> >"}) {
        check_bad_mail(bad);
    }
    auto r = parse_mail_args("bogus");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().summary() == "501 5.5.4 Syntax: MAIL FROM:<address>");
}

TEST_CASE("parse_rcpt_args") {
    auto r = parse_rcpt_args("TO:<postmaster>");
    REQUIRE(r.ok());
    CHECK(r->path == "<postmaster>");
    CHECK(parse_rcpt_args("to: <a@b> NOTIFY=NEVER")->find("notify")->value == "NEVER");
    check_bad_rcpt("TO:");            // no null recipient shortcut
    check_bad_rcpt("TO: ");
    check_bad_rcpt("FROM:<a@b>");
    check_bad_rcpt("TO<a@b>");
    check_bad_rcpt("TO:a@b");
    auto e = parse_rcpt_args("x");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().summary() == "501 5.5.4 Syntax: RCPT TO:<address>");
    CHECK(parse_rcpt_args("TO:<>")->path == "<>");   // parse_path refuses it later
}

TEST_CASE("ESMTP parameters") {
    auto r = parse_mail_args("FROM:<a@b> size=1000 body=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159");
    REQUIRE(r.ok());
    REQUIRE(r->params.size() == 5);
    CHECK(r->params[0].keyword == "SIZE");
    CHECK(r->params[0].value == "1000");
    CHECK(r->params[1].value == "8BITMIME");
    CHECK(r->params[2].keyword == "SMTPUTF8");
    CHECK_FALSE(r->params[2].value.has_value());
    CHECK(r->find("Size") == &r->params[0]);
    CHECK(r->find("smtputf8") == &r->params[2]);
    CHECK(r->find("AUTH") == nullptr);
    CHECK(r->find("") == nullptr);

    auto spaced = parse_mail_args("FROM:<a@b>    SIZE=1    BODY=7BIT   ");
    REQUIRE(spaced.ok());
    CHECK(spaced->params.size() == 2);

    auto weird = parse_mail_args("FROM:<> X-A1-=a!b~c AUTH=<> X=\xc3\xa9t\xc3\xa9");
    REQUIRE(weird.ok());
    CHECK(weird->params[0].keyword == "X-A1-");
    CHECK(weird->params[1].value == "<>");
    CHECK(weird->params[2].value == "\xc3\xa9t\xc3\xa9");

    const std::vector<std::string> bad = {
        "FROM:<a@b> SIZE=",           // empty value
        "FROM:<a@b> =1",              // empty keyword
        "FROM:<a@b> -X=1",            // keyword must start alnum
        "FROM:<a@b> S_Z=1",
        "FROM:<a@b> SIZE==1",
        "FROM:<a@b> SIZE=1=2",
        "FROM:<a@b> SIZE=1\tBODY=7BIT",
        "FROM:<a@b> SIZE=1\r",
        "FROM:<a@b> AUTH=a\x7f",
        "FROM:<a@b> AUTH=\x01",
        "FROM:<a@b> X=\xc3",          // invalid UTF-8
        "FROM:<a@b> X=\xc2\x85",      // C1 control
        "FROM:<a@b> \xc3\xa9=1",
        "FROM:<a@b> SIZE=1 size=2",   // duplicate
        "FROM:<a@b> SMTPUTF8 SMTPUTF8",
        with_nul("FROM:<a@b> SIZE=10", 16),
        with_nul("FROM:<a@b> SIZE=10", 12),
        with_nul("FROM:<a@b> SIZE=10", 18),
    };
    for (const auto& b : bad) check_bad_mail(b);
    auto e = parse_mail_args("FROM:<a@b> SIZE=");
    CHECK(e.error().summary() == "501 5.5.4 Syntax error in parameters");
}

TEST_CASE("parse_command + parse_mail_args: the smtpd_token.in style corpus") {
    // Each line is a full command line; expected path, or "" for a 501.
    struct Case {
        std::string line, path;
    };
    const std::vector<Case> corpus = {
        {"MAIL FROM:<wietse@porcupine.org>", "<wietse@porcupine.org>"},
        {"MAIL FROM:<\"wietse venema\"@porcupine.org>", "<\"wietse venema\"@porcupine.org>"},
        {"MAIL FROM:<\"wietse@venema\"@porcupine.org>", "<\"wietse@venema\"@porcupine.org>"},
        {"MAIL FROM:<\"wietse>venema\"@porcupine.org>", "<\"wietse>venema\"@porcupine.org>"},
        {"MAIL FROM:<@a,@b:wietse@porcupine.org>", "<@a,@b:wietse@porcupine.org>"},
        {"MAIL FROM:wietse@porcupine.org", ""},
        {"MAIL FROM:<wietse@porcupine.org", ""},
        {"MAIL FROM:<wietse@porcupine.org>>", ""},
        {"MAIL FROM:<<wietse@porcupine.org>", "<<wietse@porcupine.org>"},
        {"MAIL FROM:<\"wietse@porcupine.org>", ""},
        {"MAIL FROM:<wietse@porcupine.org> foo", "<wietse@porcupine.org>"},
        {"MAIL FROM:<wietse@porcupine.org> foo=", ""},
        {"MAIL FROM:<wietse@porcupine.org>foo", ""},
        {"MAIL FROM: <>", "<>"},
        {"MAIL FROM:<> <a@b>", ""},
    };
    for (const auto& c : corpus) {
        CAPTURE(c.line);
        auto cmd = parse_command(c.line);
        CHECK(cmd.verb == "MAIL");
        auto r = parse_mail_args(cmd.args);
        CHECK(r.ok() == !c.path.empty());
        if (r.ok()) CHECK(r->path == c.path);
    }
}

TEST_CASE("decode_xtext") {
    CHECK(decode_xtext("") == "");
    CHECK(decode_xtext("plain") == "plain");
    CHECK(decode_xtext("a+2Bb") == "a+b");
    CHECK(decode_xtext("+3D") == "=");
    CHECK(decode_xtext("+2b") == "+");          // lower-case hex tolerated
    CHECK(decode_xtext("rfc822;a+2Bb@x") == "rfc822;a+b@x");
    CHECK(decode_xtext("+C3+A9") == "\xc3\xa9");  // decodes to valid UTF-8: kept
    CHECK(decode_xtext("+20") == " ");
    for (const char* bad : {"+", "+2", "+2G", "+G2", "a+", "+0D+0AX-Evil:1", "+0A", "+00", "+7F",
                            "+1B", "a b", "a=b", "a\tb", "\xc3\xa9", "+C3", "+C2+85", "+FF",
                            "x+0d+0aRCPT"}) {
        CAPTURE(bad);
        CHECK_FALSE(decode_xtext(bad).has_value());
    }
    CHECK_FALSE(decode_xtext(std::string("a\0b", 3)).has_value());
    // every printable xchar decodes to itself; every hexchar to its octet
    for (int c = 33; c <= 126; ++c) {
        if (c == '+' || c == '=') continue;
        CHECK(decode_xtext(std::string(1, char(c))) == std::string(1, char(c)));
    }
    const char* hex = "0123456789ABCDEF";
    for (int c = 0x20; c < 0x7f; ++c) {
        std::string x = {'+', hex[c >> 4], hex[c & 15]};
        CHECK(decode_xtext(x) == std::string(1, char(c)));
    }
}

}  // namespace ASMTPD_TEST_UNIT
