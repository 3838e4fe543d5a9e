// from_header_test.cpp - tests core/proto/from_header.cpp: the Author Domains of a From
// field (name-addr, addr-spec, comments, quoted strings, groups, obs-route, folding) and of a
// header block (none, one, several From fields; RFC 7489 §6.6.1).
#include "core/proto/from_header.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {
std::vector<std::string> domains(std::string_view v) {
    FromAuthors a = parse_from_field(v);
    INFO(std::string(v), " -> ", a.error);
    REQUIRE(a.ok());
    return a.domains;
}
using V = std::vector<std::string>;
}  // namespace

TEST_CASE("from field: the usual forms") {
    CHECK(domains(" joe@Example.COM") == V{"example.com"});
    CHECK(domains(" Joe <joe@example.com>") == V{"example.com"});
    CHECK(domains(" \"Joe, the boss\" <joe@example.com>") == V{"example.com"});
    CHECK(domains(" \"a@evil.example\" <joe@example.com>") == V{"example.com"});
    CHECK(domains(" joe@example.com (Joe <joe@evil.example>)") == V{"example.com"});
    CHECK(domains(" (c (nested) ) <joe@mail.example.com.>") == V{"mail.example.com"});
    CHECK(domains(" =?utf-8?q?J=C3=B6rg?= <j@example.de>") == V{"example.de"});
    CHECK(domains(" \"quoted local\"@example.com") == V{"example.com"});
    CHECK(domains(" Joe\r\n\t<joe@example.com>") == V{"example.com"});
    CHECK(domains(" <@relay.example:joe@example.com>") == V{"example.com"});
    CHECK(domains(" Joe Smith joe@example.com") == V{"example.com"});   // obs-phrase without brackets
}

TEST_CASE("from field: several mailboxes and groups") {
    CHECK(domains(" a@one.example, B <b@two.example>") == V{"one.example", "two.example"});
    CHECK(domains(" a@x.example, a@x.example") == V{"x.example", "x.example"});
    CHECK(domains(" Team: a@one.example, b@two.example;") == V{"one.example", "two.example"});
    CHECK(domains(" a@one.example,, b@two.example") == V{"one.example", "two.example"});
}

TEST_CASE("from field: what does not parse") {
    for (std::string_view v : {"", " ", " Joe", " <joe@example.com", " joe@", " @example.com", " joe@[192.0.2.1]",
                               " \"unterminated <j@example.com>", " (unterminated j@example.com", " j@example..com",
                               " j@example.com junk", " j@exa mple.com", " undisclosed-recipients:;", " j@-", " j@a\x01.com",
                               " a@b.example <c@d.example>"}) {
        FromAuthors a = parse_from_field(v);
        CHECK_MESSAGE(!a.ok(), std::string(v));
        CHECK(a.domains.empty());
    }
}

TEST_CASE("author domains of a header block") {
    Authors a = author_domains("Subject: x\r\nFROM : Joe\r\n <joe@Example.com>\r\nTo: b@c.example\r\n\r\nFrom: body@evil.example\r\n");
    CHECK(a.problem == AuthorProblem::None);
    CHECK(a.domains == V{"example.com"});
    a = author_domains("From: a@x.example, b@y.example, c@x.example\n");   // LF lines too; duplicates go
    CHECK(a.domains == V{"x.example", "y.example"});
    CHECK(author_domains("Subject: x\r\n\r\n").problem == AuthorProblem::NoFrom);
    CHECK(author_domains("").problem == AuthorProblem::NoFrom);
    CHECK(author_domains("From: a@x.example\r\nFrom: b@y.example\r\n").problem == AuthorProblem::SeveralFrom);
    CHECK(author_domains("From: a@x.example\r\nfrom: a@x.example\r\n").problem == AuthorProblem::SeveralFrom);
    a = author_domains("From: <broken@\r\n");
    CHECK(a.problem == AuthorProblem::Unparseable);
    CHECK_FALSE(a.detail.empty());
    CHECK(author_domains("From: undisclosed:;\r\n").problem == AuthorProblem::NoDomain);
    // A line without a colon is skipped, not fatal; From-Address is another field.
    a = author_domains("garbage line\r\nFrom-Address: x@y.example\r\nFrom: a@x.example\r\n");
    CHECK(a.domains == V{"x.example"});
    CHECK(to_string(AuthorProblem::SeveralFrom) == "multiple From fields");
}

}  // namespace ASMTPD_TEST_UNIT
