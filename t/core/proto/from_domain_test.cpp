// from_domain_test.cpp - tests core/proto/from_domain.cpp: the author domain of a From field,
// the forms mail uses, and the values that must give no domain (several authors, groups,
// hiding an '@' in comments or quotes, names that could be paths).
#include <doctest/doctest.h>

#include "core/proto/from_domain.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::from_domain;
using asmtpd::proto::valid_host_domain;

TEST_CASE("from_domain: addr-spec and name-addr forms") {
    CHECK(from_domain(" joe@example.net") == "example.net");
    CHECK(from_domain("joe@Example.NET\r\n") == "example.net");
    CHECK(from_domain(" Joe <joe@example.net>") == "example.net");
    CHECK(from_domain(" \"Joe Q. Public\" <joe@mail.example.net>") == "mail.example.net");
    CHECK(from_domain(" Joe\r\n <joe@example.net>") == "example.net");   // folded
    CHECK(from_domain(" <joe@example.net.>") == "example.net");           // trailing dot
    CHECK(from_domain(" joe@example.net (Joe Bloggs)") == "example.net");
    CHECK(from_domain(" (comment (nested) @evil.example) joe@example.net") == "example.net");
    CHECK(from_domain(" \"joe@evil.example\" <joe@example.net>") == "example.net");
    CHECK(from_domain(" \"quoted local\"@example.net") == "example.net");
    CHECK(from_domain(" \"a \\\" b\" <x@example.net>") == "example.net");   // quoted-pair in quotes
    CHECK(from_domain(" joe@ example.net") == std::nullopt);   // white space splits an addr-spec
    CHECK(from_domain(" <joe@ example.net >") == "example.net");
    CHECK(from_domain(" joe@sub_domain.example.net") == "sub_domain.example.net");
}

TEST_CASE("from_domain: no single author, no domain") {
    for (const char* v : {"", " ", "joe", " <joe>", " <@example.net>", " joe@", " a@example.net, b@example.org",
                          " undisclosed:;", " friends: a@example.net;", " <a@example.net> <b@example.net>",
                          " <joe@example.net", " joe@example.net>", " <joe@example.net> trailing",
                          " \"unclosed <joe@example.net>", " (unclosed joe@example.net", " joe@example.net)",
                          " <@route.example:joe@example.net>", " joe@[192.0.2.1]", " joe@exa mple.net",
                          " joe@..", " joe@../../etc", " joe@a/b.example", " joe@.example.net", " joe@example..net",
                          " joe@-\x01.example", " joe@\xc3\xa9.example", " jo@em( cxaem)x",
                          " <joe@exa(comment)mple.net>"}) {
        CAPTURE(v);
        CHECK(from_domain(v) == std::nullopt);
    }
}

TEST_CASE("valid_host_domain: label and length limits") {
    CHECK(valid_host_domain("example.net"));
    CHECK(valid_host_domain(std::string(63, 'a') + ".net"));
    const std::string label(63, 'a');
    CHECK(valid_host_domain(label + "." + label + "." + label + "." + std::string(61, 'b')));   // 253 exactly
    CHECK_FALSE(valid_host_domain(std::string(64, 'a') + ".net"));
    std::string long_name;
    while (long_name.size() < 251) long_name += "abcdefghi.";   // 260 + "net" > 253
    CHECK_FALSE(valid_host_domain(long_name + "net"));
    CHECK_FALSE(valid_host_domain(""));
    CHECK_FALSE(valid_host_domain("example.net."));
    CHECK_FALSE(valid_host_domain("."));
    CHECK_FALSE(valid_host_domain("a b"));
}

}  // namespace ASMTPD_TEST_UNIT
