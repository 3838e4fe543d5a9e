// auth_results_test.cpp - tests core/proto/auth_results.cpp: the authserv-id of fields others
// wrote (comments, quoting, folding, case), and our own field, folded at 78 columns so that
// unfolding gives back exactly the results.
#include "core/proto/auth_results.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_block.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::authserv_id;
using asmtpd::proto::claims_authserv_id;
using asmtpd::proto::format_authentication_results;

TEST_CASE("auth_results: authserv-id as a token, after white space and comments") {
    CHECK(authserv_id(" mx.example.org; spf=pass") == "mx.example.org");
    CHECK(authserv_id("mx.example.org;none") == "mx.example.org");
    CHECK(authserv_id(" (comment) mx.example.org 1; none") == "mx.example.org");
    CHECK(authserv_id(" (nested (comment \\) here)) \r\n\tmx.example.org; dkim=pass") == "mx.example.org");
    CHECK(authserv_id("mx.example.org(comment right after); none") == "mx.example.org");
    CHECK_FALSE(authserv_id(" (unterminated comment mx.example.org; none"));
    CHECK_FALSE(authserv_id(""));
    CHECK_FALSE(authserv_id("   ; spf=pass"));
}

TEST_CASE("auth_results: authserv-id as a quoted-string") {
    CHECK(authserv_id(" \"mx.example.org\"; spf=pass") == "mx.example.org");
    CHECK(authserv_id("\"mx\\.example.org\"; none") == "mx.example.org");
    CHECK(authserv_id("\"with space\"; none") == "with space");
    CHECK_FALSE(authserv_id("\"no end; none"));
}

TEST_CASE("auth_results: a field claims our id case-insensitively, and only exactly") {
    CHECK(claims_authserv_id(" MX.Example.ORG; spf=pass", "mx.example.org"));
    CHECK(claims_authserv_id(" (forged) \"mx.example.org\"; dkim=pass", "mx.example.org"));
    CHECK_FALSE(claims_authserv_id(" mx.example.org.evil; spf=pass", "mx.example.org"));
    CHECK_FALSE(claims_authserv_id(" other.example; spf=pass mx.example.org", "mx.example.org"));
    CHECK_FALSE(claims_authserv_id(" mx; spf=pass", "mx.example.org"));
    CHECK_FALSE(claims_authserv_id(" ; none", ""));
}

TEST_CASE("auth_results: our field on one line when it fits, 'none' without results") {
    CHECK(format_authentication_results("mx.example.org", {}) == "Authentication-Results: mx.example.org; none");
    CHECK(format_authentication_results("mx.example.org", {"spf=pass smtp.mailfrom=a@b.example"}) ==
          "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a@b.example");
    CHECK(format_authentication_results("odd id", {"auth=pass"}) == "Authentication-Results: \"odd id\"; auth=pass");
}

TEST_CASE("auth_results: folded at 78 columns, one result per line, unfolding restores the text") {
    std::vector<std::string> results = {
        "iprev=pass policy.iprev=192.0.2.1 (mail.example.com)",
        "spf=pass smtp.mailfrom=someone@example.com",
        "dkim=fail reason=\"body hash did not verify\" header.d=example.com header.i=@example.com "
        "header.s=selector header.a=rsa-sha256 header.b=AbCdEfGh",
        "dmarc=pass (p=reject sp=reject dis=none) header.from=example.com"};
    std::string h = format_authentication_results("mx.example.org", results);
    CAPTURE(h);
    std::size_t pos = 0;
    int lines = 0;
    while (pos <= h.size()) {
        auto end = h.find("\r\n", pos);
        std::string line = h.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        std::size_t width = line.size() + (line.rfind("\t", 0) == 0 ? 7 : 0);
        CHECK(width <= 78);
        CHECK_FALSE(line.empty());
        if (lines > 0) CHECK((line[0] == ' ' || line[0] == '\t'));
        ++lines;
        if (end == std::string::npos) break;
        pos = end + 2;
    }
    CHECK(lines >= 5);
    CHECK(h.find("\r\n\tspf=pass smtp.mailfrom=someone@example.com;\r\n") != std::string::npos);
    // Unfolded (CRLF removed), each result is there exactly, separated by ";" and white space.
    std::string unfolded = asmtpd::proto::unfold(h.substr(h.find(':') + 1));
    std::string expect = "mx.example.org;";
    for (std::size_t i = 0; i < results.size(); ++i) expect += "\t" + results[i] + (i + 1 < results.size() ? ";" : "");
    CHECK(unfolded == expect);
}

}  // namespace ASMTPD_TEST_UNIT
