// public_suffix_test.cpp - tests core/io/public_suffix.cpp: Organizational Domains from
// libpsl's list (Debian's publicsuffix data) and from a list file of our own.
#include "core/io/public_suffix.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::PublicSuffixList;

TEST_CASE("public suffix: the system list") {
    std::string error;
    auto psl = PublicSuffixList::load("", &error);
    REQUIRE_MESSAGE(psl, error);
    CHECK_FALSE(psl->source().empty());
    CHECK(psl->organizational_domain("example.com") == "example.com");
    CHECK(psl->organizational_domain("Mail.Example.COM.") == "example.com");
    CHECK(psl->organizational_domain("a.b.example.co.uk") == "example.co.uk");
    CHECK(psl->organizational_domain("co.uk") == "co.uk");              // a public suffix is its own
    CHECK(psl->organizational_domain("com") == "com");
    CHECK(psl->organizational_domain("news.relaxed.test") == "relaxed.test");   // the default rule "*"
    CHECK(psl->organizational_domain("") == "");
}

TEST_CASE("public suffix: a list file, and a file that is not there") {
    char path[] = "/tmp/asmtpd-psl-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    {
        std::ofstream f(path);
        f << "// ===BEGIN ICANN DOMAINS===\nexample\nshop.example\n// ===END ICANN DOMAINS===\n";
    }
    std::string error;
    auto psl = PublicSuffixList::load(path, &error);
    REQUIRE_MESSAGE(psl, error);
    CHECK(psl->source() == path);
    CHECK(psl->organizational_domain("a.b.shop.example") == "b.shop.example");
    CHECK(psl->organizational_domain("a.b.example") == "b.example");
    ::unlink(path);
    CHECK_FALSE(PublicSuffixList::load("/nonexistent/psl.dat", &error));
    CHECK(error.find("/nonexistent/psl.dat") != std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT
