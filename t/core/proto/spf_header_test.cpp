// spf_header_test.cpp - tests core/proto/spf_header.cpp: the Received-SPF field of RFC 7208
// §9.1 (result, comment, key-value pairs, quoting) and the "spf" note round trip.
#include "core/proto/spf_header.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::spf;

namespace {
Outcome outcome(Result r) {
    Outcome o;
    o.result = r;
    o.identity = Identity::MailFrom;
    o.domain = "example.com";
    o.sender = "user@example.com";
    o.mechanism = r == Result::Pass ? "ip4:192.0.2.0/24" : "-all";
    return o;
}
HeaderFacts facts() { return {"192.0.2.1", "user@example.com", "mx.example.org", "mybox.example.org"}; }
}  // namespace

TEST_CASE("§9.1 Received-SPF: result, comment and key-value pairs") {
    CHECK(received_spf(outcome(Result::Pass), facts()) ==
          "pass (mybox.example.org: domain of user@example.com designates 192.0.2.1 as permitted sender) "
          "client-ip=192.0.2.1; envelope-from=\"user@example.com\"; helo=mx.example.org; "
          "receiver=mybox.example.org; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\";");
    auto fail = received_spf(outcome(Result::Fail), facts());
    CHECK(fail.rfind("fail (mybox.example.org: domain of user@example.com does not designate 192.0.2.1", 0) == 0);
    CHECK(fail.find("mechanism=-all;") != std::string::npos);
    for (Result r : {Result::SoftFail, Result::Neutral, Result::None, Result::TempError, Result::PermError}) {
        auto h = received_spf(outcome(r), facts());
        CHECK(h.rfind(std::string(to_string(r)) + " (", 0) == 0);
    }
}

TEST_CASE("§9.1 problem= for errors; quoting and hostile values stay one printable line") {
    Outcome o = outcome(Result::PermError);
    o.problem = "SPF record of example.com: unknown mechanism 'moo\"\\'";
    HeaderFacts f = facts();
    f.envelope_from = "";
    f.helo = "evil (helo)\r\nX-Injected: yes";
    std::string h = received_spf(o, f);
    CHECK(h.find("problem=\"SPF record of example.com: unknown mechanism 'moo\\\"\\\\'\";") != std::string::npos);
    CHECK(h.find("envelope-from=\"\";") != std::string::npos);
    CHECK(h.find('\r') == std::string::npos);
    CHECK(h.find('\n') == std::string::npos);
    CHECK(h.find("helo=\"evil (helo)??X-Injected: yes\";") != std::string::npos);
    Outcome n = outcome(Result::Neutral);
    n.sender = "a(b)c\\@example.com";
    CHECK(received_spf(n, f).find("by domain of abc@example.com)") != std::string::npos);
    CHECK(received_spf(outcome(Result::Pass), f).find("problem=") == std::string::npos);
}

TEST_CASE("the spf note: one line, read back by parse_spf_note") {
    Outcome o = outcome(Result::Fail);
    o.explanation = "not one of ours, see https://example.com/spf";
    std::string note = spf_note(o);
    CHECK(note == "fail identity=mailfrom domain=example.com reason=not one of ours, see https://example.com/spf");
    auto back = parse_spf_note(note);
    REQUIRE(back);
    CHECK(back->result == Result::Fail);
    CHECK(back->identity == Identity::MailFrom);
    CHECK(back->domain == "example.com");
    CHECK(back->reason == o.explanation);

    Outcome h = outcome(Result::Pass);
    h.identity = Identity::Helo;
    h.domain = "mx.example.org";
    auto hb = parse_spf_note(spf_note(h));
    REQUIRE(hb);
    CHECK(hb->identity == Identity::Helo);
    CHECK(hb->reason == "matched ip4:192.0.2.0/24");

    for (const char* bad : {"", "pass", "great identity=helo domain=x reason=", "pass identity=pra domain=x reason=",
                            "pass identity=helo domain=x", "pass domain=x identity=helo reason="})
        CHECK_FALSE(parse_spf_note(bad));
    CHECK(result_from_string("softfail") == Result::SoftFail);
    CHECK_FALSE(result_from_string("unknown"));
}

}  // namespace ASMTPD_TEST_UNIT
