// dmarc_policy_test.cpp - tests core/proto/dmarc_policy.cpp: relaxed and strict alignment
// for DKIM and SPF, p vs sp, pct sampling, the trusted-source and log-only overrides, the
// temperror rule, and the choice among several Author Domains.
#include "core/proto/dmarc_policy.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dmarc;

namespace {
// A two-label public suffix ("co.uk") and one-label ones: enough of a suffix list.
std::string org_of(std::string_view d) {
    std::string s(d);
    auto last = s.rfind('.');
    if (last == std::string::npos) return s;
    auto second = s.rfind('.', last - 1);
    if (s.size() >= 6 && s.compare(s.size() - 6, 6, ".co.uk") == 0) {
        if (second == std::string::npos) return s;
        auto third = s.rfind('.', second - 1);
        return third == std::string::npos ? s : s.substr(third + 1);
    }
    return second == std::string::npos ? s : s.substr(second + 1);
}
const OrgDomainFn kOrg = org_of;

Input input(std::string record, std::string author = "example.com") {
    Input in;
    in.author_domain = std::move(author);
    ParsedRecord p = parse_record(record);
    REQUIRE(p.record);
    in.lookup = Lookup::Found;
    in.record = p.record;
    return in;
}
}  // namespace

TEST_CASE("dmarc alignment: strict and relaxed") {
    CHECK(aligned("example.com", "EXAMPLE.com.", Alignment::Strict, kOrg));
    CHECK_FALSE(aligned("mail.example.com", "example.com", Alignment::Strict, kOrg));
    CHECK(aligned("mail.example.com", "example.com", Alignment::Relaxed, kOrg));
    CHECK(aligned("a.example.com", "b.example.com", Alignment::Relaxed, kOrg));
    CHECK_FALSE(aligned("example.net", "example.com", Alignment::Relaxed, kOrg));
    CHECK(aligned("x.shop.co.uk", "shop.co.uk", Alignment::Relaxed, kOrg));
    CHECK_FALSE(aligned("other.co.uk", "shop.co.uk", Alignment::Relaxed, kOrg));
    CHECK_FALSE(aligned("", "example.com", Alignment::Relaxed, kOrg));
}

TEST_CASE("dmarc evaluation: DKIM alignment, relaxed and strict") {
    Input in = input("v=DMARC1; p=reject");
    in.dkim = {{"mail.example.com", "pass"}};
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.result == Result::Pass);
    CHECK(e.dkim_aligned);
    CHECK(e.dkim_domain == "mail.example.com");
    CHECK(e.disposition == Policy::None);
    CHECK(e.requested == Policy::Reject);

    in = input("v=DMARC1; p=reject; adkim=s");
    in.dkim = {{"mail.example.com", "pass"}};
    e = evaluate(in, kOrg);
    CHECK(e.result == Result::Fail);
    CHECK(e.disposition == Policy::Reject);
    in.dkim.push_back({"Example.com", "pass"});
    CHECK(evaluate(in, kOrg).result == Result::Pass);

    in = input("v=DMARC1; p=reject");
    in.dkim = {{"example.com", "fail"}, {"example.net", "pass"}};   // a pass, but not aligned
    CHECK(evaluate(in, kOrg).result == Result::Fail);
}

TEST_CASE("dmarc evaluation: SPF alignment, relaxed and strict") {
    Input in = input("v=DMARC1; p=quarantine");
    in.spf = AuthResult{"bounce.example.com", "pass"};
    CHECK(evaluate(in, kOrg).result == Result::Pass);
    CHECK(evaluate(in, kOrg).spf_aligned);
    in = input("v=DMARC1; p=quarantine; aspf=s");
    in.spf = AuthResult{"bounce.example.com", "pass"};
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.result == Result::Fail);
    CHECK(e.disposition == Policy::Quarantine);
    in.spf = AuthResult{"example.com", "pass"};
    CHECK(evaluate(in, kOrg).result == Result::Pass);
    in.spf = AuthResult{"example.com", "softfail"};
    CHECK(evaluate(in, kOrg).result == Result::Fail);
}

TEST_CASE("dmarc evaluation: p for the domain, sp for a subdomain under the org record") {
    Input in = input("v=DMARC1; p=reject; sp=quarantine", "news.example.com");
    in.record_at_org = true;
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.requested == Policy::Quarantine);
    CHECK(e.disposition == Policy::Quarantine);
    in.record_at_org = false;   // the subdomain published its own record: p applies
    CHECK(evaluate(in, kOrg).requested == Policy::Reject);
    in = input("v=DMARC1; p=reject", "news.example.com");
    in.record_at_org = true;   // no sp: p
    CHECK(evaluate(in, kOrg).requested == Policy::Reject);
    in = input("v=DMARC1; p=none; sp=reject", "example.com");
    in.record_at_org = true;   // the org domain itself
    CHECK(evaluate(in, kOrg).disposition == Policy::None);
}

TEST_CASE("dmarc evaluation: pct samples; sampled out, reject becomes quarantine") {
    Input in = input("v=DMARC1; p=reject; pct=0");
    in.draw = 0;
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.disposition == Policy::Quarantine);
    CHECK(e.override == Override::SampledOut);
    in = input("v=DMARC1; p=quarantine; pct=0");
    e = evaluate(in, kOrg);
    CHECK(e.disposition == Policy::None);
    CHECK(e.override == Override::SampledOut);
    in = input("v=DMARC1; p=reject; pct=100");
    in.draw = 99;
    CHECK(evaluate(in, kOrg).disposition == Policy::Reject);
    in = input("v=DMARC1; p=reject; pct=50");
    in.draw = 49;
    CHECK(evaluate(in, kOrg).disposition == Policy::Reject);
    in.draw = 50;
    CHECK(evaluate(in, kOrg).disposition == Policy::Quarantine);
}

TEST_CASE("dmarc evaluation: trusted sources and log-only policies lower the disposition") {
    Input in = input("v=DMARC1; p=reject");
    in.trusted = Override::MailingList;
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.result == Result::Fail);
    CHECK(e.disposition == Policy::None);
    CHECK(e.override == Override::MailingList);
    in = input("v=DMARC1; p=none");
    in.trusted = Override::TrustedForwarder;   // nothing to override
    CHECK(evaluate(in, kOrg).override == Override::None);
    in = input("v=DMARC1; p=reject");
    in.may_reject = false;
    e = evaluate(in, kOrg);
    CHECK(e.disposition == Policy::Quarantine);
    CHECK(e.override == Override::LocalPolicy);
}

TEST_CASE("dmarc evaluation: lookups without a record, and temperrors") {
    Input in;
    in.author_domain = "example.com";
    in.lookup = Lookup::Absent;
    CHECK(evaluate(in, kOrg).result == Result::None);
    in.lookup = Lookup::Invalid;
    CHECK(evaluate(in, kOrg).result == Result::PermError);
    in.lookup = Lookup::TempFail;
    CHECK(evaluate(in, kOrg).result == Result::TempError);
    in = input("v=DMARC1; p=reject");
    in.dkim = {{"example.com", "temperror"}};
    Evaluation e = evaluate(in, kOrg);
    CHECK(e.result == Result::TempError);
    CHECK(e.disposition == Policy::None);
    in.dkim = {{"example.org", "temperror"}};   // not aligned: no excuse
    CHECK(evaluate(in, kOrg).result == Result::Fail);
    in.dkim = {{"example.com", "temperror"}, {"example.com", "pass"}};
    CHECK(evaluate(in, kOrg).result == Result::Pass);
}

TEST_CASE("dmarc: the decisive Author Domain is the strictest failure") {
    Evaluation pass, none, quarantine, reject, temp;
    pass.result = Result::Pass;
    quarantine.result = reject.result = Result::Fail;
    quarantine.disposition = Policy::Quarantine;
    reject.disposition = Policy::Reject;
    temp.result = Result::TempError;
    CHECK(decisive({pass, quarantine, reject}) == 2);
    CHECK(decisive({reject, quarantine}) == 0);
    CHECK(decisive({none, pass}) == 1);
    CHECK(decisive({pass, temp}) == 1);
    CHECK(decisive({none}) == 0);
    CHECK(to_string(Override::SampledOut) == "sampled_out");
    CHECK(to_string(Result::TempError) == "temperror");
}

}  // namespace ASMTPD_TEST_UNIT
