// smtp_forward_test.cpp - tests plugins/queue/smtp_forward.cpp (and the shared client in
// core/client/smtp_client, smtp_pool, plugins/queue/delivery_verdict) against Postfix's smtp-sink and the scripted
// t/fixtures/lmtp_server.py in SMTP mode: byte-identical hand-off, every fault smtp-sink can
// inject, mixed recipient answers, timeouts, connection reuse and its cap, stale pooled
// connections, and a session that goes away before the final dot. The oracle: an OK only when
// the next hop holds the message, and the next hop holds only what got an OK.
#include <doctest/doctest.h>

#include <regex>

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

const std::vector<proto::Address> kOneRcpt = {proto::Address{"to", "example.org"}};

// Starts the queue hook and runs the loop until it resolves (or 20 s).
std::optional<hooks::Verdict> queue(FakeContext& ctx, PluginHarness& p, std::uint64_t ms = 20000) {
    auto sink = p.start(hooks::Hook::Queue);
    run_until(ctx, [&] { return sink->verdict.has_value(); }, ms);
    CHECK(sink->resolves <= 1);
    CHECK(sink->double_resolves == 0);
    return sink->verdict;
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

std::string reply_of(const std::optional<hooks::Verdict>& v) {
    if (!v) return "(unresolved)";
    return v->reply ? v->reply->summary() : "(no reply) " + v->text;
}

// A temporary failure must be exactly 451 4.3.0.
void check_soft(const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);
    CHECK(v->reply->esc == "4.3.0");
}

}  // namespace

TEST_CASE("queue/smtp_forward: arguments") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "queue/smtp_forward").init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"mx..example.org"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1:0"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1:65536"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1:"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"[::1"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "max_connections"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "max_connections", "0"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "timeout", "0"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "timeout", "-1"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "wait", "3"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "timeout", "1", "timeout", "2"}).init_error);
    CHECK(PluginHarness(ctx, "queue/smtp_forward", {"127.0.0.1", "total_timeout", "5"}).init_error);

    PluginHarness ok(ctx, "queue/smtp_forward", {"127.0.0.1:2525", "max_connections", "3", "timeout", "1.5"});
    CHECK_FALSE(ok.init_error);
    CHECK(ok.handlers(hooks::Hook::Queue) == 1);
    // The chain's deadline must not cut the plugin's own (540 s total by default).
    CHECK(ok.plugin().timeout() > std::chrono::seconds(540));
    CHECK_FALSE(PluginHarness(ctx, "queue/smtp_forward", {"[::1]:25"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "queue/smtp_forward", {"localhost"}).init_error);
}

TEST_CASE("queue/smtp_forward: byte-identical hand-off, memory and file spools") {
    FakeContext ctx;
    SmtpSink sink;
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop()});
    REQUIRE_FALSE(p.init_error);

    struct Case {
        std::size_t size;
        std::size_t threshold;
    };
    std::vector<std::string> sent;
    int n = 0;
    for (Case c : {Case{0, 1 << 20}, Case{2000, 1 << 20}, Case{300000, 1 << 20}, Case{3u << 20, 64 * 1024}}) {
        std::string body = c.size == 0 ? std::string() : test::tricky_body(c.size);
        make_transaction(ctx, body, {proto::Address{"to", "example.org"}, proto::Address{"second", "example.org"}},
                         c.threshold, "0000000000001234." + std::to_string(++n));
        CHECK(ctx.txn->body->in_file() == (c.size > c.threshold));
        sent.push_back(ctx.txn->header_prefix() + body);
        auto v = queue(ctx, p);
        REQUIRE(v);
        INFO("size ", c.size, ": ", reply_of(v));
        CHECK(std::string(result_name(v)) == "OK");
        CHECK(std::regex_match(v->text, std::regex(R"(Queued as 0000000000001234\.\d \(250 2\.0\.0 Ok.*\))")));
    }
    auto dumps = sink.dumps();
    REQUIRE(dumps.size() == sent.size());
    // Dump file names are random: match them by content.
    for (const auto& m : sent) {
        bool found = false;
        for (const auto& d : dumps) {
            if (d.content != SmtpSink::dumped(m)) continue;
            found = true;
            CHECK(d.mail_args == "<from@example.net>");
            CHECK(d.rcpt_args == std::vector<std::string>{"<to@example.org>", "<second@example.org>"});
            CHECK(d.proto == "ESMTP");
        }
        CHECK_MESSAGE(found, "no dump matches a message of " << m.size() << " octets");
    }
    // One connection served all four (RSET between messages), pipelined.
    std::string log = ctx.log_text();
    CHECK(count(log, "> EHLO mx.example.org") == 1);
    CHECK(count(log, "> RSET") == 3);
}

TEST_CASE("queue/smtp_forward: SIZE, BODY=8BITMIME and SMTPUTF8 only when offered and given") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp"});
    PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
    REQUIRE_FALSE(p.init_error);
    make_transaction(ctx, "Subject: s\r\n\r\nbody\r\n", kOneRcpt);
    ctx.txn->mail_params.push_back(proto::EsmtpParam{"BODY", std::string("8bitmime")});
    auto v = queue(ctx, p);
    CHECK(std::string(result_name(v)) == "OK");
    const std::string size = std::to_string(ctx.txn->message_size());
    CHECK(fx.commands().find("MAIL FROM:<from@example.net> SIZE=" + size + " BODY=8BITMIME\n") != std::string::npos);
    REQUIRE(fx.messages().size() == 1);
    CHECK(fx.messages()[0] == ctx.txn->header_prefix() + "Subject: s\r\n\r\nbody\r\n");
}

TEST_CASE("queue/smtp_forward: refusals from smtp-sink keep their code; 4xx become 451") {
    struct Fault {
        std::vector<std::string> args;
        const char* result;
        int code;
    };
    // smtp-sink: -f = "500 5.3.0 Error: command failed", -r = "450 4.3.0 Error: command failed".
    const std::vector<Fault> faults = {
        {{"-f", "MAIL"}, "DENY", 500},     {{"-r", "MAIL"}, "DENYSOFT", 451},
        {{"-f", "RCPT"}, "DENY", 500},     {{"-r", "RCPT"}, "DENYSOFT", 451},
        {{"-f", "DATA"}, "DENY", 500},     {{"-r", "DATA"}, "DENYSOFT", 451},
        {{"-f", "."}, "DENY", 500},        {{"-r", "."}, "DENYSOFT", 451},
        {{"-q", "MAIL"}, "DENYSOFT", 451}, {{"-q", "RCPT"}, "DENYSOFT", 451},
        {{"-q", "DATA"}, "DENYSOFT", 451}, {{"-q", "."}, "DENYSOFT", 451},
        {{"-Q", "RCPT"}, "DENYSOFT", 451}, {{"-Q", "."}, "DENYSOFT", 451},
        {{"-f", "EHLO,HELO"}, "DENYSOFT", 451}, {{"-f", "CONNECT"}, "DENYSOFT", 451},
        {{"-Q", "CONNECT"}, "DENYSOFT", 451},
    };
    for (const auto& f : faults) {
        FakeContext ctx;
        SmtpSink sink(f.args);
        PluginHarness p(ctx, "queue/smtp_forward", {sink.hop(), "timeout", "5"});
        REQUIRE_FALSE(p.init_error);
        make_transaction(ctx, "Subject: fault\r\n\r\nbody\r\n", kOneRcpt);
        auto v = queue(ctx, p);
        INFO("smtp-sink ", f.args[0], " ", f.args[1], " -> ", reply_of(v));
        REQUIRE(v);
        CHECK(std::string(result_name(v)) == f.result);
        REQUIRE(v->reply);
        CHECK(v->reply->code == f.code);
        if (f.code == 500) {
            CHECK(v->reply->esc == "5.3.0");
            CHECK(v->reply->lines == std::vector<std::string>{"Error: command failed"});
        } else {
            CHECK(v->reply->esc == "4.3.0");
        }
        if (f.args[0] == "-Q") CHECK(v->text.find("421") != std::string::npos);
        // Never a message at the next hop without an OK (except "-r ." / "-f .", where
        // smtp-sink has the file but refused it: it said so, and nobody will deliver it).
        if (f.args[1] != ".") CHECK(sink.dumps().empty());
    }
}

TEST_CASE("queue/smtp_forward: a next hop refusing EHLO is spoken to with HELO") {
    FakeContext ctx;
    SmtpSink sink({"-f", "EHLO"});
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop()});
    make_transaction(ctx, "Subject: helo\r\n\r\n.x\r\n", kOneRcpt);
    auto v = queue(ctx, p);
    CHECK(std::string(result_name(v)) == "OK");
    auto dumps = sink.dumps();
    REQUIRE(dumps.size() == 1);
    CHECK(dumps[0].proto == "SMTP");
    CHECK(dumps[0].content == SmtpSink::dumped(ctx.txn->header_prefix() + "Subject: helo\r\n\r\n.x\r\n"));
}

TEST_CASE("queue/smtp_forward: recipients refused in part, or all") {
    SUBCASE("one of two refused with 5xx: 451 for the whole message, no DATA sent") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--rcpt", "bad@example.org=550 5.1.1 No such user"});
        PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
        make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", {proto::Address{"good", "example.org"}, proto::Address{"bad", "example.org"}});
        auto v = queue(ctx, p);
        check_soft(v);
        CHECK(v->text.find("550 5.1.1 No such user") != std::string::npos);
        CHECK(fx.commands().find("DATA") == std::string::npos);
        CHECK(fx.messages().empty());
    }
    SUBCASE("all refused with 5xx: DENY with the first refusal") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--rcpt", "a@example.org=553 5.7.1 Not here",
                          "--rcpt", "b@example.org=550 5.1.1 No such user"});
        PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
        make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", {proto::Address{"a", "example.org"}, proto::Address{"b", "example.org"}});
        auto v = queue(ctx, p);
        REQUIRE(v);
        CHECK(std::string(result_name(v)) == "DENY");
        REQUIRE(v->reply);
        CHECK(v->reply->code == 553);
        CHECK(v->reply->esc == "5.7.1");
        CHECK(v->reply->lines == std::vector<std::string>{"Not here"});
        CHECK(fx.commands().find("DATA") == std::string::npos);
    }
    SUBCASE("one 4xx and one 5xx: temporary") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--rcpt", "a@example.org=452 4.2.2 Full",
                          "--rcpt", "b@example.org=550 5.1.1 No such user", "--no-pipelining"});
        PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
        make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", {proto::Address{"a", "example.org"}, proto::Address{"b", "example.org"}});
        check_soft(queue(ctx, p));
        // Without PIPELINING every RCPT still went out, one at a time.
        CHECK(count(fx.commands(), "RCPT TO:") == 2);
    }
}

TEST_CASE("queue/smtp_forward: a 5xx enhanced code of the wrong class becomes 5.0.0; a final 2xx is needed") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp", "--final-all", "554 4.7.0 Odd class"});
    PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kOneRcpt);
    auto v = queue(ctx, p);
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENY");
    REQUIRE(v->reply);
    CHECK(v->reply->code == 554);
    CHECK(v->reply->esc == "5.0.0");
    CHECK(v->reply->lines == std::vector<std::string>{"4.7.0 Odd class"});
}

TEST_CASE("queue/smtp_forward: timeouts give 451, and the dot is never sent late") {
    SUBCASE("reply to DATA delayed past the command timeout") {
        FakeContext ctx;
        SmtpSink sink({"-w", "3"});
        PluginHarness p(ctx, "queue/smtp_forward", {sink.hop(), "timeout", "0.5"});
        make_transaction(ctx, "Subject: slow\r\n\r\nx\r\n", kOneRcpt);
        auto v = queue(ctx, p);
        check_soft(v);
        CHECK(v->text.find("timed out") != std::string::npos);
        CHECK(ctx.log_text().find("timed out after 0.500 s waiting for the reply to DATA") != std::string::npos);
        test::run_for(ctx, 3500);
        CHECK(sink.dumps().empty());
    }
    SUBCASE("final reply delayed past data_timeout") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--final-delay", "2"});
        PluginHarness p(ctx, "queue/smtp_forward", {fx.hop(), "data_timeout", "0.4"});
        make_transaction(ctx, "Subject: slow\r\n\r\nx\r\n", kOneRcpt);
        auto v = queue(ctx, p);
        check_soft(v);
        CHECK(ctx.log_text().find("waiting for the reply to final dot") != std::string::npos);
        CHECK(ctx.log_text().find("the dot was sent: the next hop may hold a copy") != std::string::npos);
    }
    SUBCASE("total_timeout cuts a slow hand-off") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--final-delay", "5"});
        PluginHarness p(ctx, "queue/smtp_forward",
                        {fx.hop(), "timeout", "2", "connect_timeout", "0.5", "data_timeout", "10", "total_timeout", "3"});
        make_transaction(ctx, "Subject: slow\r\n\r\nx\r\n", kOneRcpt);
        auto v = queue(ctx, p, 10000);
        check_soft(v);
        CHECK(ctx.log_text().find("within total_timeout (3 s)") != std::string::npos);
    }
    SUBCASE("total_timeout also bounds the wait for a free connection") {
        FakeContext ctx;
        FixtureServer fx({"--protocol", "smtp", "--final-delay", "3"});
        PluginHarness p(ctx, "queue/smtp_forward",
                        {fx.hop(), "max_connections", "1", "timeout", "1", "connect_timeout", "0.5", "total_timeout", "1.5"});
        make_transaction(ctx, "Subject: second\r\n\r\nx\r\n", kOneRcpt, 1 << 20, "0000000000001234.2");
        hooks::Transaction second_txn = *ctx.txn;
        make_transaction(ctx, "Subject: first\r\n\r\nx\r\n", kOneRcpt);
        // Queued together, within one loop iteration: the second waits for the only connection,
        // which the first holds until both deadlines (equal, started at the same loop time) pass.
        auto first = p.start(hooks::Hook::Queue);
        ctx.txn = second_txn;
        auto second = p.start(hooks::Hook::Queue);
        REQUIRE(run_until(ctx, [&] { return first->verdict && second->verdict; }, 10000));
        check_soft(first->verdict);
        check_soft(second->verdict);
        CHECK(ctx.log_text().find("(waiting for a free connection)") != std::string::npos);
    }
}

TEST_CASE("queue/smtp_forward: nobody listening, and the next hop going away") {
    FakeContext ctx;
    const std::uint16_t port = test::free_port();
    PluginHarness p(ctx, "queue/smtp_forward", {"127.0.0.1:" + std::to_string(port)});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kOneRcpt);
    auto v = queue(ctx, p);
    check_soft(v);
    CHECK(v->text == "Temporary failure forwarding the message: next hop unreachable");
    CHECK(v->text.find("127.0.0.1") == std::string::npos);   // no internal address to the client
    CHECK(ctx.log_text().find("connection refused") != std::string::npos);
}

TEST_CASE("queue/smtp_forward: a killed next hop gives 451, then a restarted one works") {
    FakeContext ctx;
    auto sink = std::make_unique<SmtpSink>();
    PluginHarness p(ctx, "queue/smtp_forward", {sink->hop(), "timeout", "5"});
    make_transaction(ctx, "Subject: 1\r\n\r\nx\r\n", kOneRcpt);
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    sink->kill();   // the pooled connection now points at nothing
    check_soft(queue(ctx, p));
}

TEST_CASE("queue/smtp_forward: a pooled connection the next hop closed is replaced, not failed") {
    FakeContext ctx;
    SmtpSink sink({"-t", "1"});   // smtp-sink drops idle clients after 1 s
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop()});
    make_transaction(ctx, "Subject: 1\r\n\r\nx\r\n", kOneRcpt);
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    test::run_for(ctx, 1600);
    make_transaction(ctx, "Subject: 2\r\n\r\ny\r\n", kOneRcpt, 1 << 20, "0000000000001234.2");
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    CHECK(sink.dumps().size() == 2);
    CHECK(count(ctx.log_text(), "> EHLO") == 2);
}

TEST_CASE("queue/smtp_forward: RSET refused on a reused connection retries on a new one") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp", "--rset", "421 4.3.2 Going away"});
    PluginHarness p(ctx, "queue/smtp_forward", {fx.hop()});
    for (int i = 1; i <= 3; ++i) {
        make_transaction(ctx, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n", kOneRcpt, 1 << 20,
                         "0000000000001234." + std::to_string(i));
        auto v = queue(ctx, p);
        INFO(reply_of(v));
        CHECK(std::string(result_name(v)) == "OK");
    }
    CHECK(fx.messages().size() == 3);
    CHECK(count(ctx.log_text(), "> EHLO") == 3);
}

TEST_CASE("queue/smtp_forward: max_connections caps concurrent connections; the rest wait FIFO") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp", "--final-delay", "0.2"});
    PluginHarness p(ctx, "queue/smtp_forward", {fx.hop(), "max_connections", "2"});
    std::vector<std::shared_ptr<test::VerdictSink>> sinks;
    std::vector<std::string> order;
    for (int i = 1; i <= 5; ++i) {
        make_transaction(ctx, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n", kOneRcpt, 1 << 20,
                         "0000000000001234." + std::to_string(i));
        sinks.push_back(p.start(hooks::Hook::Queue));
    }
    REQUIRE(run_until(ctx, [&] {
        for (auto& s : sinks)
            if (!s->verdict) return false;
        return true;
    }, 15000));
    for (auto& s : sinks) CHECK(s->verdict->result == hooks::Result::Ok);
    CHECK(fx.messages().size() == 5);
    CHECK(count(ctx.log_text(), "> EHLO") == 2);
    // FIFO: the messages reached the next hop in the order they were queued.
    auto msgs = fx.messages();
    for (std::size_t i = 0; i < msgs.size(); ++i)
        CHECK(msgs[i].find("Subject: " + std::to_string(i + 1) + "\r\n") != std::string::npos);
}

TEST_CASE("queue/smtp_forward: a session that goes away never gets a message sent for it") {
    FakeContext ctx;
    SmtpSink sink({"-w", "1"});   // DATA answered after 1 s: time to drop the session
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop()});
    make_transaction(ctx, "Subject: gone\r\n\r\nx\r\n", kOneRcpt);
    auto vs = p.start(hooks::Hook::Queue);
    test::run_for(ctx, 300);
    CHECK_FALSE(vs->verdict);
    vs.reset();   // the chain state is gone: HookCall::wanted() is false from now on
    test::run_for(ctx, 1500);
    CHECK(sink.dumps().empty());
    CHECK(ctx.log_text().find("client session ended") != std::string::npos);
    // The pool is still usable afterwards.
    make_transaction(ctx, "Subject: next\r\n\r\nx\r\n", kOneRcpt, 1 << 20, "0000000000001234.2");
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    CHECK(sink.dumps().size() == 1);
}

TEST_CASE("queue/smtp_forward: idle connections are closed after idle_timeout") {
    FakeContext ctx;
    SmtpSink sink;
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop(), "idle_timeout", "0.3"});
    make_transaction(ctx, "Subject: s\r\n\r\nx\r\n", kOneRcpt);
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    CHECK(run_until(ctx, [&] { return ctx.log_text().find("idle for 0.300 s: closing") != std::string::npos; }, 3000));
    make_transaction(ctx, "Subject: s2\r\n\r\nx\r\n", kOneRcpt, 1 << 20, "0000000000001234.2");
    CHECK(std::string(result_name(queue(ctx, p))) == "OK");
    CHECK(count(ctx.log_text(), "> EHLO") == 2);
}

TEST_CASE("queue/smtp_forward: nothing to send is a 451, not a crash") {
    FakeContext ctx;
    SmtpSink sink;
    PluginHarness p(ctx, "queue/smtp_forward", {sink.hop()});
    check_soft(p.call(hooks::Hook::Queue));   // no transaction at all
    make_transaction(ctx, "x", kOneRcpt);
    ctx.txn->recipients.clear();
    check_soft(p.call(hooks::Hook::Queue));
}

}  // namespace ASMTPD_TEST_UNIT
