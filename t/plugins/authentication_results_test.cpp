// authentication_results_test.cpp - tests plugins/authentication_results.cpp: one field built
// from the iprev, spf, dkim and dmarc notes and the AUTH user, put first among the added
// headers, and the rename edit that catches only fields claiming our authserv-id.
#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_edit.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

// Runs data_post once and returns the field the plugin added (unfolded).
std::string field_after_data_post(FakeContext& ctx, std::vector<std::string> args = {}) {
    PluginHarness p(ctx, "authentication_results", std::move(args));
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
    REQUIRE_FALSE(ctx.txn->added_headers.empty());
    std::string h = ctx.txn->added_headers.front();
    std::string out;
    for (char c : h)
        if (c != '\r' && c != '\n') out.push_back(c == '\t' ? ' ' : c);
    return out;
}

void with_sender(FakeContext& ctx, std::string local, std::string domain) {
    ctx.txn.emplace();
    proto::Address a;
    a.local = std::move(local);
    a.domain = std::move(domain);
    ctx.txn->sender = a;
}

}  // namespace

TEST_CASE("authentication_results: no results at all is 'none'") {
    FakeContext ctx;
    ctx.txn.emplace();
    CHECK(field_after_data_post(ctx) == "Authentication-Results: mx.example.org; none");
}

TEST_CASE("authentication_results: every source, in order, first among the added headers") {
    FakeContext ctx;
    with_sender(ctx, "alice", "example.com");
    ctx.txn->added_headers = {"Received-SPF: pass"};
    ctx.notes_map["iprev"] = "pass mail.example.com";
    ctx.conn.auth_user = "alice";
    ctx.txn->notes["spf"] = "pass identity=mailfrom domain=example.com reason=mechanism ip4 matched";
    ctx.txn->notes["dkim"] = "pass header.d=example.com header.s=s1; fail reason=\"bad\" header.d=other.example";
    ctx.txn->notes["dmarc"] = "pass (p=reject sp=reject dis=none) header.from=example.com";
    CHECK(field_after_data_post(ctx) ==
          "Authentication-Results: mx.example.org;"
          " iprev=pass policy.iprev=192.0.2.10 (mail.example.com);"
          " auth=pass smtp.auth=alice;"
          " spf=pass smtp.mailfrom=alice@example.com;"
          " dkim=pass header.d=example.com header.s=s1;"
          " dkim=fail reason=\"bad\" header.d=other.example;"
          " dmarc=pass (p=reject sp=reject dis=none) header.from=example.com");
    REQUIRE(ctx.txn->added_headers.size() == 2);
    CHECK(ctx.txn->added_headers[1] == "Received-SPF: pass");
}

TEST_CASE("authentication_results: spf for the HELO identity, a fail, and iprev without a name") {
    FakeContext ctx;
    ctx.txn.emplace();   // null sender
    ctx.notes_map["iprev"] = "permerror";
    ctx.txn->notes["spf"] = "fail identity=helo domain=helo.example reason=-all";
    CHECK(field_after_data_post(ctx) ==
          "Authentication-Results: mx.example.org; iprev=permerror policy.iprev=192.0.2.10; spf=fail "
          "smtp.helo=helo.example");
}

TEST_CASE("authentication_results: notes it cannot read are left out; odd users are quoted") {
    FakeContext ctx;
    ctx.txn.emplace();
    ctx.notes_map["iprev"] = "maybe something";
    ctx.txn->notes["spf"] = "garbage";
    ctx.conn.auth_user = "a user";
    CHECK(field_after_data_post(ctx) == "Authentication-Results: mx.example.org; auth=pass smtp.auth=\"a user\"");
}

TEST_CASE("authentication_results: authserv_id argument; bad arguments fail start-up") {
    FakeContext ctx;
    ctx.txn.emplace();
    CHECK(field_after_data_post(ctx, {"authserv_id", "example.org"}) == "Authentication-Results: example.org; none");
    PluginHarness bad(ctx, "authentication_results", {"what"});
    CHECK(bad.init_error);
}

TEST_CASE("authentication_results: the rename edit takes only fields that claim our id") {
    FakeContext ctx;
    ctx.txn.emplace();
    field_after_data_post(ctx);
    REQUIRE(ctx.txn->header_edits.size() == 1);
    const std::string block =
        "Authentication-Results: (forged) MX.EXAMPLE.ORG; spf=pass\r\n"
        "Authentication-Results: other.example; dkim=pass\r\n"
        "Authentication-Results: \"mx.example.org\"; dkim=pass\r\n"
        "Subject: s\r\n";
    CHECK(proto::apply_header_edits(block, ctx.txn->header_edits) ==
          "Original-Authentication-Results: (forged) MX.EXAMPLE.ORG; spf=pass\r\n"
          "Authentication-Results: other.example; dkim=pass\r\n"
          "Original-Authentication-Results: \"mx.example.org\"; dkim=pass\r\n"
          "Subject: s\r\n");
}

}  // namespace ASMTPD_TEST_UNIT
