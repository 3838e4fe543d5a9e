// mail_date_test.cpp - tests core/proto/mail_date.cpp: RFC 5322 dates as mail carries them
// (zones, obsolete years and zone names, comments, folding) and the values that must not parse.
#include <doctest/doctest.h>

#include "core/proto/mail_date.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::days_from_civil;
using asmtpd::proto::parse_mail_date;

namespace {
// 2026-12-02T12:00:00Z
constexpr std::int64_t kNoon = 1796212800;
}  // namespace

TEST_CASE("mail_date: days_from_civil") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(days_from_civil(2026, 12, 2) * 86400 + 12 * 3600 == kNoon);
    CHECK(days_from_civil(1969, 12, 31) == -1);
}

TEST_CASE("mail_date: RFC 5322 forms") {
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 +0000") == kNoon);
    CHECK(parse_mail_date(" Wed, 2 Dec 2026 12:00:00 +0000\r\n") == kNoon);
    CHECK(parse_mail_date("2 Dec 2026 12:00:00 +0000") == kNoon);             // no day name
    CHECK(parse_mail_date("Wed, 02 Dec 2026 13:30:00 +0130") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 07:00:00 -0500") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00 +0000") == kNoon);          // no seconds
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 +0000 (UTC)") == kNoon); // comment
    CHECK(parse_mail_date("Wed,\r\n 02 Dec 2026\r\n 12:00:00 +0000") == kNoon);   // folded
    CHECK(parse_mail_date("(a (nested) comment) Wed, 02 Dec 2026 12:00:00 +0000") == kNoon);
    CHECK(parse_mail_date("wed, 02 DEC 2026 12:00:00 +0000") == kNoon);
    CHECK(parse_mail_date("Wednesday, 02 December 2026 12:00:00 +0000") == kNoon);
    CHECK(parse_mail_date("Wed 02 Dec 2026 12:00:00 +0000") == kNoon);        // comma missing
}

TEST_CASE("mail_date: obsolete forms (RFC 5322 §4.3)") {
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 GMT") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 UT") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 07:00:00 EST") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 04:00:00 PST") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 05:00:00 PDT") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 Z") == kNoon);
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00 A") == kNoon);           // military: -0000
    CHECK(parse_mail_date("Wed, 02 Dec 2026 12:00:00") == kNoon);             // no zone: UTC
    CHECK(parse_mail_date("Wed, 02 Dec 26 12:00:00 +0000") == kNoon);         // 2-digit year
    CHECK(parse_mail_date("Thu, 02 Dec 99 12:00:00 +0000") == days_from_civil(1999, 12, 2) * 86400 + 43200);
    CHECK(parse_mail_date("02 Dec 126 12:00:00 +0000") == kNoon);             // 3-digit year
    CHECK(parse_mail_date("Wed, 02 Dec 2026 11:59:60 +0000") == kNoon - 1);    // leap second
}

TEST_CASE("mail_date: not dates") {
    for (const char* v : {"", " ", "yesterday", "Wed, 02 Dec 2026", "Wed, 32 Dec 2026 12:00:00 +0000",
                          "Wed, 29 Feb 2026 12:00:00 +0000", "Wed, 02 Foo 2026 12:00:00 +0000",
                          "Wed, 02 Dec 2026 24:00:00 +0000", "Wed, 02 Dec 2026 12:60:00 +0000",
                          "Wed, 02 Dec 2026 12:00:00 +00", "Wed, 02 Dec 2026 12:00:00 +0060",
                          "Wed, 02 Dec 2026 12:00:00 +0000 trailing", "Wed, 02 Dec 2026 12:00:00 XYZ",
                          "Wed, 02 Dec 2026 12:00:00 J", "2026-12-02T12:00:00Z", "Wed, 02 Dec 2026 12.00.00",
                          "Wed, 02 Dec 2026 12:00:00 +0000 (unclosed", "Wed, 0 Dec 2026 12:00:00 +0000",
                          "Wed, 02 Dec 20266 12:00:00 +0000", "Wed, 002 Dec 2026 12:00:00 +0000"}) {
        CAPTURE(v);
        CHECK(parse_mail_date(v) == std::nullopt);
    }
    CHECK(parse_mail_date("Sun, 29 Feb 2032 00:00:00 +0000") == days_from_civil(2032, 2, 29) * 86400);
}

}  // namespace ASMTPD_TEST_UNIT
