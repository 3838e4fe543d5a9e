// imap_login_test.cpp - tests core/proto/imap_login.cpp: the LOGIN command (quoting, LITERAL+
// for 8-bit text, no CR/LF/NUL ever), and the reading of greetings, untagged lines, literals
// and LOGIN's tagged answer as Dovecot writes them.
#include "core/proto/imap_login.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using S = ImapLoginStatus;

namespace {
constexpr std::string_view kGreeting = "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n";
ImapLoginReply read(const std::string& s) { return read_imap_login_reply(s, "a1"); }
}  // namespace

TEST_CASE("imap: LOGIN quotes, escapes and uses literals for 8-bit text") {
    CHECK(imap_login_command("a1", "a2", "alice", "secret") == "a1 LOGIN \"alice\" \"secret\"\r\na2 LOGOUT\r\n");
    CHECK(imap_login_command("a1", "a2", "a\"b", "c\\d") == "a1 LOGIN \"a\\\"b\" \"c\\\\d\"\r\na2 LOGOUT\r\n");
    CHECK(imap_login_command("a1", "a2", "bob", "p\xc3\xa4ss") == "a1 LOGIN \"bob\" {5+}\r\np\xc3\xa4ss\r\na2 LOGOUT\r\n");
    CHECK(imap_login_command("a1", "a2", "bob", "with space") == "a1 LOGIN \"bob\" \"with space\"\r\na2 LOGOUT\r\n");
    CHECK_FALSE(imap_login_command("a1", "a2", "bob", "x\r\na2 LOGOUT"));
    CHECK_FALSE(imap_login_command("a1", "a2", "bob\n", "x"));
    CHECK_FALSE(imap_login_command("a1", "a2", std::string("b\0b", 3), "x"));
    CHECK_FALSE(imap_login_command("a1", "a2", "", "x"));
    CHECK_FALSE(imap_login_command("a1", "a2", "bob", ""));
}

TEST_CASE("imap: LOGIN's answers") {
    std::string g(kGreeting);
    CHECK(read("").status == S::Incomplete);
    CHECK(read(g).status == S::Incomplete);
    CHECK(read(g + "a1 OK [CAPAB").status == S::Incomplete);
    auto ok = read(g + "* CAPABILITY IMAP4rev1\r\na1 OK [CAPABILITY IMAP4rev1 ID] Logged in\r\n");
    CHECK(ok.status == S::Ok);
    CHECK(ok.code == "CAPABILITY");
    CHECK(ok.text == "Logged in");
    auto no = read(g + "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    CHECK(no.status == S::No);
    CHECK(no.code == "AUTHENTICATIONFAILED");
    CHECK(no.text == "Authentication failed.");
    CHECK_FALSE(imap_code_is_temporary(no.code));
    auto down = read(g + "a1 NO [UNAVAILABLE] Temporary authentication failure.\n");
    CHECK(down.status == S::No);
    CHECK(imap_code_is_temporary(down.code));
    CHECK(read(g + "a1 no plain\r\n").status == S::No);
    CHECK(read(g + "a1 BAD Error in IMAP command\r\n").status == S::Bad);
    CHECK(read(g + "* BYE Disconnected for inactivity.\r\n").status == S::Bye);
    CHECK(read(g + "a1 MAYBE\r\n").status == S::Garbage);
}

TEST_CASE("imap: greetings that cannot check a password") {
    CHECK(read("* BYE Too many connections\r\n").status == S::Bye);
    CHECK(read("* PREAUTH welcome\r\na1 OK fine\r\n").status == S::Garbage);
    CHECK(read("220 mail.example.test ESMTP\r\n").status == S::Garbage);
    CHECK(read("a1 OK early\r\n").status == S::Garbage);
}

TEST_CASE("imap: other tags and literals never decide") {
    std::string g(kGreeting);
    CHECK(read(g + "a2 OK LOGOUT done\r\n").status == S::Incomplete);
    CHECK(read(g + "a10 OK not ours\r\n").status == S::Incomplete);
    // A literal that looks like our tagged OK is data, not an answer.
    CHECK(read(g + "* 1 FETCH (BODY[] {14}\r\na1 OK faked\r\n)\r\na1 NO [AUTHENTICATIONFAILED] x\r\n").status == S::No);
    CHECK(read(g + "* 1 FETCH (BODY[] {14}\r\na1 OK fak").status == S::Incomplete);
    CHECK(read(g + "+ go ahead\r\na1 OK yes\r\n").status == S::Ok);
}

}  // namespace ASMTPD_TEST_UNIT
