// smtp_pool_test.cpp - tests core/client/smtp_pool.cpp (with core/client/smtp_client.cpp underneath) against
// the scripted t/fixtures/lmtp_server.py: answers never come synchronously, a done callback may
// deliver again, a pool dropped mid-delivery still finishes it, and SIGTERM closes idle
// connections so that no libuv handle of the pool is left to keep a stopping loop alive.
#include "core/client/smtp_pool.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include "plugins/queue/forward_queue.hpp"
#include "t/support/fake_context.hpp"
#include "t/support/next_hop_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::FixtureServer;
using test::run_until;

namespace {

client::ClientConfig config_for(const std::string& hop, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {hop};
    args.insert(args.end(), extra.begin(), extra.end());
    client::ClientConfig c;
    REQUIRE_FALSE(client::parse_client_config(args, client::NextHopProtocol::Smtp, c));
    return c;
}

client::Envelope envelope(FakeContext& ctx, const std::string& body) {
    test::make_transaction(ctx, body, {proto::Address{"to", "example.org"}});
    std::string why;
    auto e = plugins::envelope_of(*ctx.txn, why);
    REQUIRE_MESSAGE(e, why);
    return *e;
}

int active_signal_handles(uv_loop_t* loop) {
    int n = 0;
    uv_walk(loop, [](uv_handle_t* h, void* arg) {
        if (h->type == UV_SIGNAL && uv_is_active(h)) ++*static_cast<int*>(arg);
    }, &n);
    return n;
}

}  // namespace

TEST_CASE("SmtpPool: the answer never comes from inside deliver()") {
    FakeContext ctx;
    auto pool = client::SmtpPool::create(ctx.loop(), config_for("127.0.0.1:" + std::to_string(test::free_port())), "me");
    std::optional<client::DeliveryReport> got;
    pool->deliver(envelope(ctx, "x\r\n"), ctx.log(), [] { return true; }, [&](client::DeliveryReport r) { got = r; });
    CHECK_FALSE(got);
    REQUIRE(run_until(ctx, [&] { return got.has_value(); }));
    CHECK(got->failure == client::Failure::Connect);
    CHECK(got->stage == client::Stage::Connect);
    CHECK(pool->open_connections() == 0);
    CHECK(pool->waiting() == 0);
}

TEST_CASE("SmtpPool: a done callback may deliver again; the connection is reused") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp"});
    auto pool = client::SmtpPool::create(ctx.loop(), config_for(fx.hop()), "me");
    int done = 0;
    client::Envelope second = envelope(ctx, "second\r\n");
    pool->deliver(envelope(ctx, "first\r\n"), ctx.log(), [] { return true; }, [&](client::DeliveryReport r) {
        ++done;
        CHECK(r.complete());
        pool->deliver(second, ctx.log(), [] { return true; }, [&](client::DeliveryReport r2) {
            ++done;
            CHECK(r2.complete());
        });
    });
    REQUIRE(run_until(ctx, [&] { return done == 2; }));
    CHECK(pool->connections_made() == 1);
    CHECK(pool->idle_connections() == 1);
    CHECK(fx.messages().size() == 2);
}

TEST_CASE("SmtpPool: a pool its owner dropped finishes the delivery in flight, then lets go") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp", "--final-delay", "0.3"});
    std::optional<client::DeliveryReport> got;
    std::weak_ptr<client::SmtpPool> weak;
    {
        auto pool = client::SmtpPool::create(ctx.loop(), config_for(fx.hop()), "me");
        weak = pool;
        pool->deliver(envelope(ctx, "x\r\n"), ctx.log(), [] { return true; }, [&](client::DeliveryReport r) { got = r; });
        pool->shutdown();   // what PoolSet's destructor does on a reload
    }
    CHECK_FALSE(weak.expired());   // the job keeps it
    REQUIRE(run_until(ctx, [&] { return got.has_value(); }));
    CHECK(got->complete());
    CHECK(got->final_replies.at(0).code == 250);
    REQUIRE(run_until(ctx, [&] { return weak.expired(); }, 3000));
    CHECK(fx.messages().size() == 1);
}

TEST_CASE("SmtpPool: SIGTERM closes idle connections and leaves no handle behind") {
    FakeContext ctx;
    FixtureServer fx({"--protocol", "smtp"});
    auto pool = client::SmtpPool::create(ctx.loop(), config_for(fx.hop()), "me");
    CHECK(active_signal_handles(ctx.loop()) == 0);   // no connection, no watcher
    int done = 0;
    pool->deliver(envelope(ctx, "x\r\n"), ctx.log(), [] { return true; }, [&](client::DeliveryReport) { ++done; });
    REQUIRE(run_until(ctx, [&] { return done == 1; }));
    REQUIRE(pool->idle_connections() == 1);
    // Only raise the signal when someone on this loop watches it (else it would end the test).
    REQUIRE(active_signal_handles(ctx.loop()) == 2);
    REQUIRE(uv_kill(::getpid(), SIGTERM) == 0);
    REQUIRE(run_until(ctx, [&] { return pool->open_connections() == 0; }, 3000));
    CHECK(pool->draining());
    CHECK(active_signal_handles(ctx.loop()) == 0);
    // The polite goodbye reached the next hop.
    REQUIRE(run_until(ctx, [&] { return fx.commands().find("1\tQUIT") != std::string::npos; }, 3000));
    test::run_for(ctx, 100);
    uv_run(ctx.loop(), UV_RUN_NOWAIT);
    CHECK_FALSE(uv_loop_alive(ctx.loop()));   // nothing of the pool keeps the loop running

    // Still serving while draining, but keeping nothing open afterwards.
    pool->deliver(envelope(ctx, "y\r\n"), ctx.log(), [] { return true; }, [&](client::DeliveryReport r) {
        ++done;
        CHECK(r.complete());
    });
    REQUIRE(run_until(ctx, [&] { return done == 2; }));
    CHECK(pool->open_connections() == 0);
    CHECK(active_signal_handles(ctx.loop()) == 0);
    CHECK(fx.messages().size() == 2);
}

TEST_CASE("SmtpPool: a dead next hop fails each waiting job once, not after its total timeout") {
    FakeContext ctx;
    auto pool = client::SmtpPool::create(ctx.loop(),
                                        config_for("127.0.0.1:" + std::to_string(test::free_port()), {"max_connections", "2"}),
                                        "me");
    std::vector<client::DeliveryReport> reports;
    for (int i = 0; i < 5; ++i)
        pool->deliver(envelope(ctx, "x\r\n"), ctx.log(), [] { return true; },
                      [&](client::DeliveryReport r) { reports.push_back(r); });
    REQUIRE(run_until(ctx, [&] { return reports.size() == 5; }, 5000));
    for (auto& r : reports) CHECK(r.failure == client::Failure::Connect);
    CHECK(pool->connections_made() == 5);
    CHECK(pool->open_connections() == 0);
}

}  // namespace ASMTPD_TEST_UNIT
