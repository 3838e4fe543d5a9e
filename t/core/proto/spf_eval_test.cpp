// spf_eval_test.cpp - tests core/proto/spf_eval.cpp: check_host() as RFC 7208 §2, §4, §6
// and §8 define it (identities, record selection, initial checks, redirect=, exp=, results),
// and the resumable Evaluator API. Mechanisms: spf_mechanisms_test.cpp; limits:
// spf_limits_test.cpp. Every answer comes from a spf_test::Zone.
#include <doctest/doctest.h>

#include "t/core/proto/spf_zone.hpp"

#include <memory>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace spf_test;

TEST_CASE("§2.4 MAIL FROM identity: the sender's domain is checked") {
    Zone z;
    z.txt("example.com", {"v=spf1 ip4:192.0.2.0/24 -all"});
    auto o = check(z, "192.0.2.10", "user@example.com");
    CHECK(o.result == Result::Pass);
    CHECK(o.identity == Identity::MailFrom);
    CHECK(o.domain == "example.com");
    CHECK(o.sender == "user@example.com");
    CHECK(o.mechanism == "ip4:192.0.2.0/24");
    CHECK(result(z, "198.51.100.1") == Result::Fail);
}

TEST_CASE("§2.4 null reverse-path: postmaster@<HELO> is the MAIL FROM identity") {
    Zone z;
    z.txt("mx.example.org", {"v=spf1 exists:%{l}.%{d}.check.example.net -all"});
    z.a("postmaster.mx.example.org.check.example.net", {"127.0.0.2"});
    auto o = check(z, "192.0.2.1", "", "mx.example.org");
    CHECK(o.result == Result::Pass);
    CHECK(o.identity == Identity::Helo);
    CHECK(o.sender == "postmaster@mx.example.org");
    CHECK(o.domain == "mx.example.org");
}

TEST_CASE("§2.3 HELO identity: <sender> is postmaster@<HELO>") {
    Zone z;
    z.txt("mx.example.org", {"v=spf1 a -all"});
    z.a("mx.example.org", {"192.0.2.1"});
    auto o = check(z, "192.0.2.1", "someone@example.com", "mx.example.org", Identity::Helo);
    CHECK(o.result == Result::Pass);
    CHECK(o.sender == "postmaster@mx.example.org");
    CHECK(check(z, "192.0.2.2", "someone@example.com", "mx.example.org", Identity::Helo).result == Result::Fail);
}

TEST_CASE("§4.3 a malformed or single-label domain is 'none' without any DNS query") {
    for (const char* helo : {"localhost", "[192.0.2.1]", "a..example.com", "", ".example.com"}) {
        Zone z;
        CAPTURE(std::string(helo));
        auto o = check(z, "192.0.2.1", "", helo);
        CHECK(o.result == Result::None);
        CHECK(z.asked.empty());
    }
    Zone z;
    CHECK(result(z, "192.0.2.1", "user@" + std::string(64, 'a') + ".example.com") == Result::None);
    CHECK(z.asked.empty());
}

TEST_CASE("§4.3 NXDOMAIN for the domain, or no SPF record, is 'none'") {
    Zone z;
    z.txt("other.example.com", {"some unrelated text"});
    CHECK(result(z, "192.0.2.1", "user@nowhere.example.com") == Result::None);
    CHECK(result(z, "192.0.2.1", "user@other.example.com") == Result::None);
    z.a("onlya.example.com", {"192.0.2.1"});
    CHECK(result(z, "192.0.2.1", "user@onlya.example.com") == Result::None);   // NODATA
}

TEST_CASE("§4.3 a sender without local-part gets 'postmaster'") {
    Zone z;
    z.txt("example.com", {"v=spf1 exists:%{l}.lp.example.com -all"});
    z.a("postmaster.lp.example.com", {"127.0.0.2"});
    CHECK(result(z, "192.0.2.1", "@example.com") == Result::Pass);
}

TEST_CASE("§4.4 a DNS error fetching the record is temperror") {
    Zone z;
    z.fail("example.com", QType::TXT);
    CHECK(result(z, "192.0.2.1") == Result::TempError);
    Zone t;
    t.fail("example.com", QType::TXT, DnsStatus::Timeout);
    CHECK(result(t, "192.0.2.1") == Result::TempError);
}

TEST_CASE("§4.5 record selection: other TXT records ignored, two SPF records permerror") {
    Zone z;
    z.txt("example.com", {"google-site-verification=xyz", "v=spf1 +all", "v=spf10 -all", "spf2.0/pra -all"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);
    Zone two;
    two.txt("example.com", {"v=spf1 +all", "V=SPF1 -all"});
    auto o = check(two, "192.0.2.1", "user@example.com");
    CHECK(o.result == Result::PermError);
    CHECK(o.problem.find("more than one") != std::string::npos);
}

TEST_CASE("§4.6 a syntax error anywhere is permerror, even after a match") {
    Zone z;
    z.txt("example.com", {"v=spf1 +all moo"});
    CHECK(result(z, "192.0.2.1") == Result::PermError);
    z.txt("bad-macro.example.com", {"v=spf1 +all exists:%{z}.example.com"});
    CHECK(result(z, "192.0.2.1", "u@bad-macro.example.com") == Result::PermError);
}

TEST_CASE("§4.6.2 mechanisms are evaluated in order; the first match decides") {
    Zone z;
    z.txt("example.com", {"v=spf1 -ip4:192.0.2.1 ~ip4:192.0.2.0/24 ?ip4:192.0.0.0/16 +all"});
    CHECK(result(z, "192.0.2.1") == Result::Fail);
    CHECK(result(z, "192.0.2.2") == Result::SoftFail);
    CHECK(result(z, "192.0.3.1") == Result::Neutral);
    CHECK(result(z, "203.0.113.1") == Result::Pass);
}

TEST_CASE("§4.7 no match and no redirect: neutral") {
    Zone z;
    z.txt("example.com", {"v=spf1 ip4:192.0.2.1"});
    auto o = check(z, "198.51.100.1", "user@example.com");
    CHECK(o.result == Result::Neutral);
    CHECK(o.mechanism == "default");
    z.txt("empty.example.com", {"v=spf1"});
    CHECK(result(z, "198.51.100.1", "u@empty.example.com") == Result::Neutral);
}

TEST_CASE("§6.1 redirect=: used only when nothing matched; target's result; none -> permerror") {
    Zone z;
    z.txt("example.com", {"v=spf1 ip4:192.0.2.1 redirect=_spf.example.net"});
    z.txt("_spf.example.net", {"v=spf1 ip4:198.51.100.0/24 -all"});
    CHECK(result(z, "192.0.2.1") == Result::Pass);
    CHECK(result(z, "198.51.100.7") == Result::Pass);
    auto o = check(z, "203.0.113.1", "user@example.com");
    CHECK(o.result == Result::Fail);
    CHECK(o.mechanism == "-all");
    CHECK(o.domain == "example.com");   // the identity's domain, not the redirect target

    z.txt("all.example.com", {"v=spf1 -all redirect=_spf.example.net"});
    CHECK(result(z, "198.51.100.7", "u@all.example.com") == Result::Fail);   // all matched first

    z.txt("nowhere.example.com", {"v=spf1 redirect=none.example.net"});
    auto n = check(z, "192.0.2.1", "u@nowhere.example.com");
    CHECK(n.result == Result::PermError);
    CHECK(n.problem.find("redirect") != std::string::npos);

    z.txt("macro.example.com", {"v=spf1 redirect=_spf.%{d}"});
    z.txt("_spf.macro.example.com", {"v=spf1 +all"});
    CHECK(result(z, "192.0.2.1", "u@macro.example.com") == Result::Pass);

    z.txt("tmp.example.com", {"v=spf1 redirect=broken.example.net"});
    z.fail("broken.example.net", QType::TXT);
    CHECK(result(z, "192.0.2.1", "u@tmp.example.com") == Result::TempError);
}

TEST_CASE("§6.2 exp=: the explanation of a fail, with c/r/t and the redirected record's exp") {
    Zone z;
    z.txt("example.com", {"v=spf1 mx -all exp=explain._spf.%{d}"});
    z.txt("explain._spf.example.com", {"%{i} is not one of %{d}'s designated mail servers (%{c} %{r} %{t} %{h} %{l})."});
    auto o = check(z, "192.0.2.3", "strong-bad@example.com");
    CHECK(o.result == Result::Fail);
    CHECK(o.explanation ==
          "192.0.2.3 is not one of example.com's designated mail servers (192.0.2.3 mybox.example.org 1234567890 mx.example.org strong-bad).");

    // Only a fail fetches the explanation.
    z.txt("soft.example.com", {"v=spf1 ~all exp=explain._spf.example.com"});
    z.asked.clear();
    auto s = check(z, "192.0.2.3", "u@soft.example.com");
    CHECK(s.result == Result::SoftFail);
    CHECK(s.explanation.empty());
    CHECK(z.count("explain._spf.example.com", QType::TXT) == 0);

    // redirect=: the target's exp counts, not the original's.
    z.txt("r.example.com", {"v=spf1 redirect=t.example.com exp=one.example.com"});
    z.txt("t.example.com", {"v=spf1 -all exp=two.example.com"});
    z.txt("one.example.com", {"one"});
    z.txt("two.example.com", {"two %{d}"});
    CHECK(check(z, "192.0.2.3", "u@r.example.com").explanation == "two t.example.com");

    // include: the included record's exp is not used.
    z.txt("i.example.com", {"v=spf1 include:inc.example.com -all exp=one.example.com"});
    z.txt("inc.example.com", {"v=spf1 -all exp=two.example.com"});
    CHECK(check(z, "192.0.2.3", "u@i.example.com").explanation == "one");
}

TEST_CASE("§6.2 exp= problems are as if there were no exp=") {
    Zone z;
    z.txt("two.example.com", {"v=spf1 -all exp=e2.example.com"});
    z.txt("e2.example.com", {"first", "second"});
    z.txt("nx.example.com", {"v=spf1 -all exp=missing.example.com"});
    z.txt("sf.example.com", {"v=spf1 -all exp=sf-exp.example.com"});
    z.fail("sf-exp.example.com", QType::TXT);
    z.txt("syn.example.com", {"v=spf1 -all exp=syn-exp.example.com"});
    z.txt("syn-exp.example.com", {"bad %{x} macro"});
    for (const char* d : {"two", "nx", "sf", "syn"}) {
        CAPTURE(std::string(d));
        auto o = check(z, "192.0.2.3", std::string("u@") + d + ".example.com");
        CHECK(o.result == Result::Fail);
        CHECK(o.explanation.empty());
    }
}

TEST_CASE("§8 results: each qualifier, none, neutral, temperror, permerror spelled as the RFC") {
    CHECK(to_string(Result::None) == "none");
    CHECK(to_string(Result::Neutral) == "neutral");
    CHECK(to_string(Result::Pass) == "pass");
    CHECK(to_string(Result::Fail) == "fail");
    CHECK(to_string(Result::SoftFail) == "softfail");
    CHECK(to_string(Result::TempError) == "temperror");
    CHECK(to_string(Result::PermError) == "permerror");
}

TEST_CASE("Evaluator: one question at a time, resumed with the answer") {
    Request r;
    r.ip = "192.0.2.1";
    r.sender = "user@Example.COM.";
    r.helo = "mx.example.org";
    Evaluator ev(r);
    Step s = ev.start();
    REQUIRE(s.query);
    CHECK(*s.query == Query{"example.com", QType::TXT});
    s = ev.resume(DnsAnswer::of({"v=spf1 a:mail.example.com -all"}));
    REQUIRE(s.query);
    CHECK(*s.query == Query{"mail.example.com", QType::A});
    s = ev.resume(DnsAnswer::of({"192.0.2.1"}));
    REQUIRE(s.outcome);
    CHECK(s.outcome->result == Result::Pass);
    CHECK(s.outcome->lookups == 1);
    CHECK(s.outcome->queries == 2);
}

TEST_CASE("Evaluator: destroyed while waiting inside an include frees every frame") {
    Request r;
    r.ip = "192.0.2.1";
    r.sender = "user@example.com";
    auto ev = std::make_unique<Evaluator>(r);
    Step s = ev->start();
    s = ev->resume(DnsAnswer::of({"v=spf1 include:a.example.net -all"}));
    s = ev->resume(DnsAnswer::of({"v=spf1 include:b.example.net -all"}));
    REQUIRE(s.query);
    CHECK(s.query->name == "b.example.net");
    ev.reset();   // ASan reports a leak or use-after-free if frames are mishandled
}

TEST_CASE("client address: IPv4-mapped IPv6 is IPv4; a non-address is permerror") {
    Zone z;
    z.txt("example.com", {"v=spf1 ip4:192.0.2.0/24 -all"});
    CHECK(result(z, "::ffff:192.0.2.9") == Result::Pass);
    CHECK(result(z, "not-an-ip") == Result::PermError);
}

}  // namespace ASMTPD_TEST_UNIT
