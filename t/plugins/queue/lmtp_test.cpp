// lmtp_test.cpp - tests plugins/queue/lmtp.cpp against t/fixtures/lmtp_server.py (per-recipient
// scripted replies, TCP and a Unix socket) and Postfix's smtp-sink in LMTP mode (-L): one reply
// per recipient after the dot, OK only when all are 2xx, DENY only when all are 5xx, 451 for
// anything mixed (with every recipient's status in the log), and byte-identical content.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"
#include "t/support/next_hop_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::FixtureServer;
using test::make_transaction;
using test::PluginHarness;
using test::result_name;
using test::run_until;
using test::SmtpSink;

namespace {

const std::vector<proto::Address> kThree = {proto::Address{"a", "example.org"}, proto::Address{"b", "example.org"},
                                            proto::Address{"c", "example.org"}};

std::optional<hooks::Verdict> queue(FakeContext& ctx, PluginHarness& p, std::uint64_t ms = 20000) {
    auto sink = p.start(hooks::Hook::Queue);
    run_until(ctx, [&] { return sink->verdict.has_value(); }, ms);
    CHECK(sink->double_resolves == 0);
    return sink->verdict;
}

void check_soft(const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);
    CHECK(v->reply->esc == "4.3.0");
}

}  // namespace

TEST_CASE("queue/lmtp: arguments") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "queue/lmtp").init_error);
    CHECK(PluginHarness(ctx, "queue/lmtp", {"lmtp..example.org:24"}).init_error);
    CHECK(PluginHarness(ctx, "queue/lmtp", {"mx"}).init_error);   // MX routing is SMTP's
    CHECK_FALSE(PluginHarness(ctx, "queue/lmtp", {"lmtp.example.org:24"}).init_error);
    CHECK(PluginHarness(ctx, "queue/lmtp", {"/" + std::string(120, 's')}).init_error);
    CHECK(PluginHarness(ctx, "queue/lmtp", {"/run/lmtp", "max_connections", "x"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "queue/lmtp", {"/run/dovecot/lmtp"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "queue/lmtp", {"127.0.0.1"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "queue/lmtp", {"127.0.0.1:2424", "timeout", "5", "data_timeout", "30"}).init_error);
}

TEST_CASE("queue/lmtp: all recipients 2xx -> OK, content byte-identical, LHLO and pipelining") {
    FakeContext ctx;
    FixtureServer fx;
    PluginHarness p(ctx, "queue/lmtp", {fx.hop()});
    REQUIRE_FALSE(p.init_error);
    std::string body = test::tricky_body(200000);
    make_transaction(ctx, body, kThree, 64 * 1024);
    REQUIRE(ctx.txn->body->in_file());
    auto v = queue(ctx, p);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "OK");
    CHECK(v->text == "Queued as 0000000000001234.1 (250 2.0.0 Delivered)");
    auto msgs = fx.messages();
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0] == ctx.txn->header_prefix() + body);
    std::string env = fx.envelope(1);
    CHECK(env.find(R"("rcpts": ["a@example.org", "b@example.org", "c@example.org"])") != std::string::npos);
    std::string cmds = fx.commands();
    CHECK(cmds.find("1\tLHLO mx.example.org\n") != std::string::npos);
    CHECK(cmds.find("EHLO") == std::string::npos);
}

TEST_CASE("queue/lmtp: the per-recipient replies after the dot decide") {
    struct Case {
        const char* name;
        std::vector<std::string> finals;   // for a, b, c
        const char* result;
        int code;
    };
    const std::vector<Case> cases = {
        {"all 5xx: the first one", {"550 5.1.1 No such user a", "552 5.2.2 Over quota b", "550 5.1.1 No such user c"}, "DENY", 550},
        {"2xx and 5xx mixed", {"250 2.0.0 ok a", "550 5.1.1 No such user b", "250 2.0.0 ok c"}, "DENYSOFT", 451},
        {"2xx and 4xx", {"250 2.0.0 ok a", "452 4.2.2 Mailbox full b", "250 2.0.0 ok c"}, "DENYSOFT", 451},
        {"all 4xx", {"451 4.3.0 later a", "452 4.2.2 full b", "451 4.3.0 later c"}, "DENYSOFT", 451},
        {"4xx and 5xx", {"550 5.1.1 gone a", "452 4.2.2 full b", "550 5.1.1 gone c"}, "DENYSOFT", 451},
    };
    for (const auto& c : cases) {
        FakeContext ctx;
        FixtureServer fx({"--final", "a@example.org=" + c.finals[0], "--final", "b@example.org=" + c.finals[1],
                          "--final", "c@example.org=" + c.finals[2]});
        PluginHarness p(ctx, "queue/lmtp", {fx.hop()});
        make_transaction(ctx, "Subject: per recipient\r\n\r\nx\r\n", kThree);
        auto v = queue(ctx, p);
        INFO(c.name);
        REQUIRE(v);
        CHECK(std::string(result_name(v)) == c.result);
        REQUIRE(v->reply);
        CHECK(v->reply->code == c.code);
        if (c.code == 550) {
            CHECK(v->reply->esc == "5.1.1");
            CHECK(v->reply->lines == std::vector<std::string>{"No such user a"});
        }
        if (std::string(c.name) == "2xx and 5xx mixed") {
            // Every recipient's status is logged, and the duplicate risk named.
            std::string log = ctx.log_text();
            CHECK(log.find("recipient <a@example.org>: 250 2.0.0 ok a (delivered; will be delivered again") != std::string::npos);
            CHECK(log.find("recipient <b@example.org>: 550 5.1.1 No such user b") != std::string::npos);
            CHECK(log.find("recipient <c@example.org>: 250 2.0.0 ok c (delivered") != std::string::npos);
        }
    }
}

TEST_CASE("queue/lmtp: a refused RCPT stops the transaction before DATA") {
    FakeContext ctx;
    FixtureServer fx({"--rcpt", "b@example.org=550 5.1.1 No such user"});
    PluginHarness p(ctx, "queue/lmtp", {fx.hop()});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kThree);
    check_soft(queue(ctx, p));
    CHECK(fx.commands().find("DATA") == std::string::npos);
    CHECK(fx.messages().empty());
    // The connection stays usable: the next message (RSET first) goes through.
    make_transaction(ctx, "Subject: t\r\n\r\ny\r\n", {proto::Address{"a", "example.org"}}, 1 << 20, "0000000000001234.2");
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    CHECK(fx.commands().find("1\tRSET\n") != std::string::npos);
}

TEST_CASE("queue/lmtp: over a Unix-domain socket") {
    FakeContext ctx;
    FixtureServer fx({}, true);
    PluginHarness p(ctx, "queue/lmtp", {fx.hop()});
    REQUIRE_FALSE(p.init_error);
    make_transaction(ctx, "Subject: unix\r\n\r\n.\r\n..\r\n", {proto::Address{"a", "example.org"}});
    auto v = queue(ctx, p);
    CHECK(std::string(result_name(v)) == "OK");
    REQUIRE(fx.messages().size() == 1);
    CHECK(fx.messages()[0] == ctx.txn->header_prefix() + "Subject: unix\r\n\r\n.\r\n..\r\n");
}

TEST_CASE("queue/lmtp: a missing socket or a final reply that never comes is 451") {
    FakeContext ctx;
    PluginHarness missing(ctx, "queue/lmtp", {ctx.dir() / "no.sock"});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kThree);
    auto v = queue(ctx, missing);
    check_soft(v);
    CHECK(v->text.find("unreachable") != std::string::npos);

    FixtureServer fx({"--final-delay", "3"});
    PluginHarness slow(ctx, "queue/lmtp", {fx.hop(), "data_timeout", "0.5"});
    check_soft(queue(ctx, slow));
    CHECK(ctx.log_text().find("waiting for the reply to final dot") != std::string::npos);
}

TEST_CASE("queue/lmtp: Postfix smtp-sink in LMTP mode, on a Unix socket and on TCP") {
    for (bool unix_socket : {true, false}) {
        FakeContext ctx;
        SmtpSink sink({"-L"}, unix_socket);
        PluginHarness p(ctx, "queue/lmtp", {sink.hop()});
        REQUIRE_FALSE(p.init_error);
        std::string body = test::tricky_body(100000);
        make_transaction(ctx, body, kThree);
        auto v = queue(ctx, p);
        INFO("unix socket: ", unix_socket);
        CHECK(std::string(result_name(v)) == "OK");
        auto dumps = sink.dumps();
        REQUIRE(dumps.size() == 1);
        CHECK(dumps[0].proto == "LMTP");
        CHECK(dumps[0].rcpt_args.size() == 3);
        CHECK(dumps[0].content == SmtpSink::dumped(ctx.txn->header_prefix() + body));
    }
}

TEST_CASE("queue/lmtp: smtp-sink -L refusing the final dot for everyone is a DENY") {
    FakeContext ctx;
    SmtpSink sink({"-L", "-f", "."});
    PluginHarness p(ctx, "queue/lmtp", {sink.hop()});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kThree);
    auto v = queue(ctx, p);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENY");
    REQUIRE(v->reply);
    CHECK(v->reply->code == 500);
}

}  // namespace ASMTPD_TEST_UNIT
