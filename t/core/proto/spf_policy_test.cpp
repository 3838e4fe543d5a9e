// spf_policy_test.cpp - tests core/proto/spf_policy.cpp: every SPF result at every reject
// level 0..6 against qpsmtpd's sender_permitted_from table, and the reply codes.
#include "core/proto/spf_policy.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::spf;

TEST_CASE("reject levels 0..6: accept (A), defer (D) or reject (R) per result") {
    // Columns: reject level 0 1 2 3 4 5 6.
    struct Row {
        Result result;
        const char* actions;
    };
    const Row table[] = {
        {Result::Pass, "AAAAAAA"},      {Result::Fail, "AADRRRR"},      {Result::SoftFail, "AAADRRR"},
        {Result::Neutral, "AAAAARR"},   {Result::None, "AAAAAAR"},      {Result::PermError, "AAAADDR"},
        {Result::TempError, "AADDDDD"},
    };
    for (const auto& row : table) {
        for (int level = 0; level <= kMaxRejectLevel; ++level) {
            Outcome o;
            o.result = row.result;
            Decision d = decide(level, o);
            char got = d.action == Action::Accept ? 'A' : d.action == Action::Defer ? 'D' : 'R';
            CAPTURE(std::string(to_string(row.result)));
            CAPTURE(level);
            CHECK(got == row.actions[level]);
            if (d.action == Action::Defer) CHECK(d.code == 451);
            if (d.action == Action::Reject) CHECK(d.code == 550);
        }
    }
}

TEST_CASE("reply texts use qpsmtpd's wording and RFC 7372's status codes") {
    Outcome o;
    o.result = Result::Fail;
    o.mechanism = "-all";
    Decision d = decide(3, o);
    CHECK(d.text == "SPF - forgery: matched -all");
    CHECK(d.esc == "5.7.23");
    o.explanation = "example.com does not send mail from 192.0.2.1";
    CHECK(decide(3, o).text == "SPF - forgery: example.com does not send mail from 192.0.2.1");
    CHECK(decide(2, o).text == "SPF - fail: example.com does not send mail from 192.0.2.1");
    CHECK(decide(2, o).esc == "4.7.23");

    Outcome t;
    t.result = Result::TempError;
    t.problem = "DNS error looking up example.com";
    Decision dt = decide(2, t);
    CHECK(dt.text == "SPF - temperror: DNS error looking up example.com");
    CHECK(dt.esc == "4.7.24");
    Outcome p;
    p.result = Result::PermError;
    p.problem = "more than one SPF record at example.com";
    CHECK(decide(6, p).esc == "5.7.24");
    CHECK(decide(4, p).esc == "4.7.24");
}

}  // namespace ASMTPD_TEST_UNIT
