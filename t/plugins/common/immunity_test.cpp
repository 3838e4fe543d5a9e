// immunity_test.cpp - tests plugins/common/immunity.cpp: relay clients, authenticated users,
// and the whitelist notes are immune; whitelisthelo and an empty or "0" note are not.
#include <doctest/doctest.h>

#include "plugins/common/immunity.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;

TEST_CASE("immunity: relay, auth, whitelisthost, whitelistsender") {
    FakeContext ctx;
    CHECK_FALSE(plugins::is_immune(ctx));
    ctx.conn.relay_client = true;
    CHECK(plugins::immunity(ctx) == "relay client");
    ctx.conn.relay_client = false;
    ctx.conn.auth_user = "alice";
    CHECK(plugins::immunity(ctx) == "authenticated");
    ctx.conn.auth_user.clear();
    ctx.notes_map["whitelisthelo"] = "1";
    CHECK_FALSE(plugins::is_immune(ctx));
    ctx.notes_map["whitelisthost"] = "0";
    CHECK_FALSE(plugins::is_immune(ctx));
    ctx.notes_map["whitelisthost"] = "1";
    CHECK(plugins::immunity(ctx) == "whitelisted host");
    ctx.notes_map.erase("whitelisthost");
    ctx.txn.emplace();
    CHECK_FALSE(plugins::is_immune(ctx));
    ctx.txn->notes["whitelistsender"] = "1";
    CHECK(plugins::immunity(ctx) == "whitelisted sender");
}

}  // namespace ASMTPD_TEST_UNIT
