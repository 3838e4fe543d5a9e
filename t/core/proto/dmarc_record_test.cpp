// dmarc_record_test.cpp - tests core/proto/dmarc_record.cpp: RFC 7489 §6.3 tags and
// defaults, §6.6.3's discarding (not DMARC, several records) and the rua= fallback to p=none.
#include "core/proto/dmarc_record.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dmarc;

namespace {
Record valid(std::string_view txt) {
    ParsedRecord p = parse_record(txt);
    INFO(std::string(txt), " -> ", p.error);
    REQUIRE(p.status == RecordStatus::Valid);
    REQUIRE(p.record);
    return *p.record;
}
RecordStatus status_of(std::string_view txt) { return parse_record(txt).status; }
}  // namespace

TEST_CASE("dmarc record: the minimal record and its defaults") {
    Record r = valid("v=DMARC1; p=reject");
    CHECK(r.p == Policy::Reject);
    CHECK_FALSE(r.sp);
    CHECK(r.subdomain_policy() == Policy::Reject);
    CHECK_FALSE(r.np);
    CHECK(r.pct == 100);
    CHECK(r.adkim == Alignment::Relaxed);
    CHECK(r.aspf == Alignment::Relaxed);
    CHECK(r.fo == "0");
    CHECK(r.ri == 86400);
    CHECK(r.rua.empty());
    CHECK_FALSE(r.p_from_rua);
}

TEST_CASE("dmarc record: every tag") {
    Record r = valid("v=DMARC1; p=quarantine; sp=none; np=reject; pct=25; adkim=s; aspf=s; "
                     "rua=mailto:agg@example.com,mailto:b@example.org!10m; ruf=mailto:f@example.com; fo=1:d; ri=3600;");
    CHECK(r.p == Policy::Quarantine);
    CHECK(r.sp == Policy::None);
    CHECK(r.np == Policy::Reject);
    CHECK(r.pct == 25);
    CHECK(r.adkim == Alignment::Strict);
    CHECK(r.aspf == Alignment::Strict);
    CHECK(r.rua == "mailto:agg@example.com,mailto:b@example.org!10m");
    CHECK(r.ruf == "mailto:f@example.com");
    CHECK(r.fo == "1:d");
    CHECK(r.ri == 3600);
}

TEST_CASE("dmarc record: values are case-insensitive, unknown tags ignored, FWS allowed") {
    Record r = valid("v=DMARC1;p=REJECT;sp=Quarantine;adkim=S;x_future=1;rf=afrf");
    CHECK(r.p == Policy::Reject);
    CHECK(r.sp == Policy::Quarantine);
    CHECK(r.adkim == Alignment::Strict);
    CHECK(valid("  v=DMARC1 ;  p = none ; pct = 0 ").pct == 0);
}

TEST_CASE("dmarc record: bad optional values take their defaults") {
    Record r = valid("v=DMARC1; p=reject; pct=101; adkim=x; aspf=relaxed; ri=-1; fo=");
    CHECK(r.pct == 100);
    CHECK(r.adkim == Alignment::Relaxed);
    CHECK(r.aspf == Alignment::Relaxed);
    CHECK(r.ri == 86400);
    CHECK(r.fo == "0");
    CHECK(valid("v=DMARC1; p=reject; pct=abc").pct == 100);
}

TEST_CASE("dmarc record: not DMARC (discarded as if absent)") {
    for (std::string_view t : {"", "v=spf1 -all", "p=reject; v=DMARC1", "v=DMARC2; p=reject", "v=dmarc1; p=reject",
                               "hello", "V=DMARC1; p=reject"})
        CHECK_MESSAGE(status_of(t) == RecordStatus::NotDmarc, std::string(t));
}

TEST_CASE("dmarc record: v=DMARC1 with a broken tag list or policy is invalid") {
    for (std::string_view t : {"v=DMARC1; p=reject;; sp=none", "v=DMARC1; p=reject; p=none", "v=DMARC1",
                               "v=DMARC1; p=bogus", "v=DMARC1; p=reject; sp=bogus", "v=DMARC1; p=reject; np=x",
                               "v=DMARC1; p", "v=DMARC1; p=reject\x01"}) {
        ParsedRecord p = parse_record(t);
        CHECK_MESSAGE(p.status == RecordStatus::Invalid, std::string(t));
        CHECK_FALSE(p.error.empty());
    }
}

TEST_CASE("dmarc record: a bad p= with a valid rua= is p=none (§6.6.3 step 6 A)") {
    Record r = valid("v=DMARC1; p=bogus; sp=reject; rua=mailto:d@example.com");
    CHECK(r.p == Policy::None);
    CHECK_FALSE(r.sp);
    CHECK(r.p_from_rua);
    CHECK(valid("v=DMARC1; rua=mailto:d@example.com").p_from_rua);
    CHECK(status_of("v=DMARC1; p=bogus; rua=not a uri") == RecordStatus::Invalid);
    CHECK(status_of("v=DMARC1; p=bogus; rua=mailto:") == RecordStatus::Invalid);
}

TEST_CASE("dmarc record: URI lists") {
    CHECK(has_valid_uri("mailto:a@example.com"));
    CHECK(has_valid_uri("bad, mailto:a@example.com!20k"));
    CHECK(has_valid_uri("https://example.com/report"));
    CHECK_FALSE(has_valid_uri(""));
    CHECK_FALSE(has_valid_uri("a@example.com"));
    CHECK_FALSE(has_valid_uri(":x"));
    CHECK_FALSE(has_valid_uri("mailto:a@example.com!big"));
}

TEST_CASE("dmarc record: the set at one name (§6.6.3 steps 2, 4, 5)") {
    CHECK(select_record({}).status == RecordStatus::NotDmarc);
    CHECK(select_record({"v=spf1 -all", "google-site-verification=x"}).status == RecordStatus::NotDmarc);
    ParsedRecord one = select_record({"v=spf1 -all", "v=DMARC1; p=quarantine"});
    REQUIRE(one.status == RecordStatus::Valid);
    CHECK(one.record->p == Policy::Quarantine);
    ParsedRecord two = select_record({"v=DMARC1; p=none", "v=DMARC1; p=reject"});
    CHECK(two.status == RecordStatus::Invalid);
    CHECK(two.error == "2 DMARC records");
    CHECK(select_record({"v=DMARC1; p=x"}).status == RecordStatus::Invalid);
}

}  // namespace ASMTPD_TEST_UNIT
