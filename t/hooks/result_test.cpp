// result_test.cpp - tests hooks/result.cpp: qpsmtpd spellings, the DENYHARD alias, and the
// Verdict helpers declared beside them.
#include "hooks/result.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::hooks;

TEST_CASE("to_string gives qpsmtpd's constant names") {
    CHECK(to_string(Result::Declined) == "DECLINED");
    CHECK(to_string(Result::Ok) == "OK");
    CHECK(to_string(Result::Deny) == "DENY");
    CHECK(to_string(Result::DenySoft) == "DENYSOFT");
    CHECK(to_string(Result::DenyDisconnect) == "DENY_DISCONNECT");
    CHECK(to_string(Result::DenySoftDisconnect) == "DENYSOFT_DISCONNECT");
    CHECK(to_string(Result::Done) == "DONE");
    CHECK(to_string(static_cast<Result>(42)) == "INVALID");
}

TEST_CASE("result_from_string round-trips and knows DENYHARD") {
    for (Result r : {Result::Declined, Result::Ok, Result::Deny, Result::DenySoft, Result::DenyDisconnect,
                     Result::DenySoftDisconnect, Result::Done}) {
        CAPTURE(to_string(r));
        CHECK(result_from_string(to_string(r)) == r);
    }
    CHECK(result_from_string("DENYHARD") == Result::DenyDisconnect);
    CHECK(result_from_string("denyhard") == Result::DenyDisconnect);
    CHECK(result_from_string("declined") == Result::Declined);
    CHECK(result_from_string("DenySoft_Disconnect") == Result::DenySoftDisconnect);
}

TEST_CASE("result_from_string refuses near misses") {
    for (const char* bad : {"", "DENY SOFT", "DENY-DISCONNECT", "DENYSOFTDISCONNECT", " OK", "OK ", "OKAY",
                            "900", "YIELD", "CONTINUATION", "DECLINE", "DENY_SOFT"}) {
        CAPTURE(std::string(bad));
        CHECK_FALSE(result_from_string(bad));
    }
    CHECK_FALSE(result_from_string(std::string_view("OK\0", 3)));
}

TEST_CASE("result predicates") {
    CHECK(is_deny(Result::Deny));
    CHECK(is_deny(Result::DenySoftDisconnect));
    CHECK_FALSE(is_deny(Result::Done));
    CHECK_FALSE(is_deny(Result::Ok));
    CHECK(is_soft(Result::DenySoft));
    CHECK_FALSE(is_soft(Result::Deny));
    CHECK(disconnects(Result::DenyDisconnect));
    CHECK_FALSE(disconnects(Result::DenySoft));
    auto v = Verdict::deny_soft("later");
    CHECK(v.result == Result::DenySoft);
    CHECK(v.text == "later");
    CHECK_FALSE(v.reply);
    CHECK(Verdict::done().result == Result::Done);
    CHECK(Verdict::declined().result == Result::Declined);
}

}  // namespace ASMTPD_TEST_UNIT
