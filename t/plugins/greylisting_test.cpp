// greylisting_test.cpp - tests plugins/greylisting.cpp on the embedded state store (a file in
// the test's directory): deferral and its reply, the black window, the pass after it, the
// triplet's parts, reject 0, deny_late, exclusions, the store's fail modes, bad arguments.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

void start_txn(FakeContext& ctx, const std::string& sender = "alice@example.org") {
    ctx.txn.emplace();
    auto at = sender.find('@');
    ctx.txn->sender = proto::Address{sender.substr(0, at), sender.substr(at + 1)};
}

// Lets wall-clock time pass on the loop (a blocking sleep would leave the loop's cached clock
// behind, and the store's deadline timers would all fire at once when it catches up).
void pass_time(FakeContext& ctx, std::uint64_t ms) {
    ctx.after(ms, [] {});
    ctx.run();
}

int code(const std::optional<hooks::Verdict>& v) { return v && v->reply ? v->reply->code : 0; }

}  // namespace

TEST_CASE("greylisting: first attempt 450 4.7.1, early retry still deferred, then accepted") {
    FakeContext ctx;
    PluginHarness p(ctx, "greylisting", {"black_timeout", "1", "grey_timeout", "60"});
    REQUIRE_FALSE(p.init_error);
    start_txn(ctx);
    auto v = p.rcpt("bob", "example.net");
    CHECK(result_name(v) == std::string("DENYSOFT"));
    CHECK(code(v) == 450);
    CHECK(v->reply->esc == "4.7.1");
    CHECK(test::text_of(v).find("This mail is temporarily denied") != std::string::npos);
    CHECK(ctx.txn->notes["greylisting"] == "new");

    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DENYSOFT"));
    CHECK(ctx.txn->notes["greylisting"] == "black");

    pass_time(ctx, 2100);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED"));
    CHECK(ctx.txn->notes["greylisting"] == "grey");
    start_txn(ctx);
    CHECK(result_name(p.rcpt("carol", "example.net")) == std::string("DECLINED"));
    CHECK(ctx.txn->notes["greylisting"] == "white");
    // Same /24, another host: the same triplet (qpsmtpd's default: the client network only).
    ctx.conn.remote_ip = "192.0.2.200";
    start_txn(ctx, "other@example.com");
    CHECK(result_name(p.rcpt("dave", "example.net")) == std::string("DECLINED"));
    // Another network is new.
    ctx.conn.remote_ip = "198.51.100.1";
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DENYSOFT"));
}

TEST_CASE("greylisting: sender and recipient in the triplet when enabled") {
    FakeContext ctx;
    PluginHarness p(ctx, "greylisting", {"sender", "1", "recipient", "1", "black_timeout", "1"});
    REQUIRE_FALSE(p.init_error);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DENYSOFT"));
    pass_time(ctx, 2100);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED"));
    start_txn(ctx);
    CHECK(result_name(p.rcpt("carol", "example.net")) == std::string("DENYSOFT"));   // new recipient
    start_txn(ctx, "mallory@example.org");
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DENYSOFT"));     // new sender
}

TEST_CASE("greylisting: reject 0 (and mode testonly) only logs") {
    FakeContext ctx;
    PluginHarness p(ctx, "greylisting", {"reject", "0"});
    REQUIRE_FALSE(p.init_error);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED"));
    CHECK(ctx.txn->notes["greylisting"] == "new");
    CHECK(ctx.log_text().find("would defer (reject 0)") != std::string::npos);
    PluginHarness q(ctx, "greylisting", {"mode", "testonly"});
    REQUIRE_FALSE(q.init_error);
    start_txn(ctx);
    CHECK(result_name(q.rcpt("bob", "example.net")) == std::string("DECLINED"));
}

TEST_CASE("greylisting: deny_late accepts the recipient and defers at data") {
    FakeContext ctx;
    PluginHarness p(ctx, "greylisting", {"deny_late", "1"});
    REQUIRE_FALSE(p.init_error);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED"));
    auto v = p.call(hooks::Hook::Data);
    CHECK(result_name(v) == std::string("DENYSOFT"));
    CHECK(code(v) == 450);
    start_txn(ctx);   // a new transaction starts clean
    ctx.conn.relay_client = true;
    CHECK(result_name(p.call(hooks::Hook::Data)) == std::string("DECLINED"));
}

TEST_CASE("greylisting: relay clients, authenticated, whitelisted and greylist_exclude pass untouched") {
    FakeContext ctx;
    ctx.write_config("greylist_exclude", "# comment\n10.0.0.0/8\n192.0.2.7\nexample.com\n.trusted.example\n");
    PluginHarness p(ctx, "greylisting");
    REQUIRE_FALSE(p.init_error);
    auto passes = [&](auto setup) {
        ctx.conn.remote_ip = "198.51.100.9";
        ctx.conn.remote_host.clear();
        ctx.conn.relay_client = false;
        ctx.conn.auth_user.clear();
        ctx.notes_map.clear();
        start_txn(ctx);
        setup();
        return result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED");
    };
    CHECK(passes([&] { ctx.conn.relay_client = true; }));
    CHECK(passes([&] { ctx.conn.auth_user = "alice"; }));
    CHECK(passes([&] { ctx.notes_map["whitelisthost"] = "1"; }));
    CHECK(passes([&] { ctx.txn->notes["whitelistsender"] = "1"; }));
    CHECK(passes([&] { ctx.conn.remote_ip = "10.1.2.3"; }));
    CHECK(passes([&] { ctx.conn.remote_ip = "192.0.2.7"; }));
    CHECK(passes([&] { start_txn(ctx, "x@mail.example.com"); }));
    CHECK(passes([&] { ctx.conn.remote_host = "mx1.trusted.example"; }));
    CHECK_FALSE(passes([] {}));
    CHECK_FALSE(passes([&] { start_txn(ctx, "x@notexample.com"); }));
}

TEST_CASE("greylisting: the store's fail modes (accept by default, or defer)") {
    FakeContext ctx;
    ctx.state_options.path = ctx.dir() / "no/such/dir/state.mdb";
    PluginHarness p(ctx, "greylisting");
    REQUIRE_FALSE(p.init_error);
    start_txn(ctx);
    CHECK(result_name(p.rcpt("bob", "example.net")) == std::string("DECLINED"));
    CHECK(ctx.txn->notes["greylisting"] == "store failed");
    CHECK(ctx.log_text().find("accepting (on_error accept)") != std::string::npos);
    PluginHarness q(ctx, "greylisting", {"on_error", "defer"});
    REQUIRE_FALSE(q.init_error);
    start_txn(ctx);
    auto v = q.rcpt("bob", "example.net");
    CHECK(result_name(v) == std::string("DENYSOFT"));
    CHECK(code(v) == 451);
}

TEST_CASE("greylisting: bad arguments and files fail start-up with the reason") {
    FakeContext ctx;
    for (auto args : std::vector<std::vector<std::string>>{{"black_timeout", "soon"},
                                                          {"black_timeout", "0"},
                                                          {"black_timeout", "600", "grey_timeout", "300"},
                                                          {"sender", "yes"},
                                                          {"reject", "2"},
                                                          {"mode", "strict"},
                                                          {"on_error", "maybe"},
                                                          {"unknown", "1"}}) {
        PluginHarness p(ctx, "greylisting", args);
        CHECK_MESSAGE(p.init_error, args[0]);
    }
    PluginHarness ok(ctx, "greylisting", {"p0f", "genre,windows", "db_dir", "/var/lib/qpsmtpd/greylisting"});
    CHECK_FALSE(ok.init_error);
    ctx.write_config("greylist_exclude", "300.1.2.3\n");
    PluginHarness bad(ctx, "greylisting");
    REQUIRE(bad.init_error);
    CHECK(bad.init_error->find("300.1.2.3") != std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT
