// reject_policy_test.cpp - tests plugins/common/reject_policy.cpp: qpsmtpd's get_reject.
#include <doctest/doctest.h>

#include "plugins/common/reject_policy.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using plugins::RejectPolicy;
using test::FakeContext;

namespace {
std::optional<std::string> read(RejectPolicy& p, std::vector<std::string> args) {
    proto::ArgPairs pairs;
    if (auto e = pairs.parse(args, {"reject", "reject_type"})) return e;
    return p.read(pairs);
}
}  // namespace

TEST_CASE("reject_type names") {
    using hooks::Result;
    CHECK(plugins::reject_type_from_string("perm") == Result::Deny);
    CHECK(plugins::reject_type_from_string("hard") == Result::Deny);
    CHECK(plugins::reject_type_from_string("temp") == Result::DenySoft);
    CHECK(plugins::reject_type_from_string("soft") == Result::DenySoft);
    CHECK(plugins::reject_type_from_string("disconnect") == Result::DenyDisconnect);
    CHECK(plugins::reject_type_from_string("temp_disconnect") == Result::DenySoftDisconnect);
    CHECK_FALSE(plugins::reject_type_from_string("Perm"));
}

TEST_CASE("reject 1 refuses with the type, 0 logs only") {
    FakeContext ctx;
    RejectPolicy p;
    p.type = hooks::Result::DenyDisconnect;   // a plugin's default
    REQUIRE_FALSE(read(p, {}));
    auto v = p.apply(ctx, "helo", "You are not localhost", "invalid localhost");
    CHECK(v.result == hooks::Result::DenyDisconnect);
    CHECK(v.text == "You are not localhost");

    REQUIRE_FALSE(read(p, {"reject", "1", "reject_type", "temp"}));
    CHECK(p.apply(ctx, "helo", "x", "y").result == hooks::Result::DenySoft);

    REQUIRE_FALSE(read(p, {"reject", "0"}));
    CHECK(p.apply(ctx, "helo", "x", "because").result == hooks::Result::Declined);
    CHECK(ctx.log_text().find("helo: fail, tolerated, because") != std::string::npos);
    CHECK(ctx.notes_map.count("naughty") == 0);
}

TEST_CASE("reject naughty stores the message for later and lowers karma_score") {
    FakeContext ctx;
    RejectPolicy p;
    REQUIRE_FALSE(read(p, {"reject", "naughty"}));
    CHECK(p.apply(ctx, "dnsbl", "listed", "in bl.example").result == hooks::Result::Declined);
    CHECK(p.apply(ctx, "helo", "bad helo", "badhelo").result == hooks::Result::Declined);
    CHECK(p.apply(ctx, "dnsbl", "listed", "in bl.example").result == hooks::Result::Declined);   // again
    CHECK(ctx.notes_map["naughty"] == "(dnsbl) listed\r\n(helo) bad helo");
    CHECK(ctx.notes_map["naughty_reject_type"] == "DENY");
    CHECK(ctx.notes_map["karma_score"] == "-2");   // one strike per reason, not per call
}

TEST_CASE("unknown reject values fail start-up") {
    RejectPolicy p;
    CHECK(read(p, {"reject", "2"}));
    CHECK(read(p, {"reject_type", "later"}));
}

}  // namespace ASMTPD_TEST_UNIT
