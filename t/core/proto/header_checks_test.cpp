// header_checks_test.cpp - tests core/proto/header_checks.cpp: required and singular fields,
// the Date window, and the hop count the loop plugin uses.
#include <doctest/doctest.h>

#include "core/proto/header_checks.hpp"
#include "core/proto/mail_date.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {
const std::int64_t kNow = days_from_civil(2026, 12, 2) * 86400 + 12 * 3600;
}

TEST_CASE("header_checks: field_values unfolds and matches names case-insensitively") {
    std::string block = "Subject: a\r\n b\r\nsubject:c\r\nX: y\r\n";
    CHECK(field_values(block, "SUBJECT") == std::vector<std::string>{"a b", "c"});
    CHECK(field_values(block, "From").empty());
}

TEST_CASE("header_checks: required and singular fields") {
    std::string good = "From: a@example.org\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\nTo: b@example.test\r\n";
    CHECK(field_problems(good, {"From", "Date"}).empty());
    auto p = field_problems("Subject: x\r\nFrom:  \r\n", {"From", "Date"});
    REQUIRE(p.size() == 2);
    CHECK(p[0].reply == "We require a valid From header");   // empty counts as missing
    CHECK(p[1].log == "no Date header");
    p = field_problems(good + "to: c@example.test\r\nCc: x\r\ncc: y\r\nReceived: a\r\nReceived: b\r\n", {"From"});
    REQUIRE(p.size() == 2);
    CHECK(p[0].reply == "Only one To header allowed. See RFC 5322, Section 3.6");
    CHECK(p[1].log == "too many Cc headers");
    CHECK(field_problems("", {}).empty());
    CHECK(singular_fields().size() == 11);
}

TEST_CASE("header_checks: the Date window") {
    auto block = [](std::string d) { return "From: a\r\nDate: " + d + "\r\n"; };
    using O = DateCheck::Outcome;
    CHECK(check_date_window(block("Wed, 02 Dec 2026 12:00:00 +0000"), kNow, 1, 1).outcome == O::Ok);
    CHECK(check_date_window(block("Mon, 30 Nov 2026 11:59:59 +0000"), kNow, 2, 0).outcome == O::TooOld);
    CHECK(check_date_window(block("Mon, 30 Nov 2026 12:00:00 +0000"), kNow, 2, 0).outcome == O::Ok);
    CHECK(check_date_window(block("Mon, 30 Nov 2026 11:59:59 +0000"), kNow, 0, 0).outcome == O::Ok);   // unset
    CHECK(check_date_window(block("Fri, 04 Dec 2026 12:00:01 +0000"), kNow, 0, 2).outcome == O::InFuture);
    auto bad = check_date_window(block("yesterday"), kNow, 1, 1);
    CHECK(bad.outcome == O::Unparseable);
    CHECK(bad.value == "yesterday");
    CHECK(check_date_window("From: a\r\n", kNow, 1, 1).outcome == O::NoDate);
    CHECK(check_date_window(block("Wed, 02 Dec 2026 12:00:00 +0000"), kNow, ~0ull, ~0ull).outcome == O::Ok);
}

TEST_CASE("header_checks: hops") {
    CHECK(count_hops("Received: a\r\n\tb\r\nDelivered-To: x\r\nreceived: c\r\nX-Received: d\r\n") == 3);
    CHECK(count_hops("") == 0);
}

}  // namespace ASMTPD_TEST_UNIT
