// state_store_test.cpp - io::StateStore on both backends: the embedded LMDB file and a real
// redis-server started on a free loopback port. Every op kind, expiry, one answer per batch
// from the loop (never inside run()), the deadline, the failure values, the key prefix,
// persistence of the embedded file, and Redis reconnecting after a restart.
#include "core/io/state_store.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "core/io/redis_store.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/support/redis_server.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using io::StateOp;
using io::StateResult;
using io::StateStatus;

namespace {

// A fresh directory, removed with its content.
struct TmpDir {
    TmpDir() {
        char buf[] = "/tmp/asmtpd-state-XXXXXX";
        REQUIRE(::mkdtemp(buf) != nullptr);
        p = buf;
    }
    ~TmpDir() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
    }
    const std::string& path() const { return p; }
    std::string operator/(const std::string& n) const { return p + "/" + n; }
    std::string p;
};

// Runs one batch and waits for its answer (which must not come inside run()).
StateResult run(io::test::TestLoop& loop, io::StateStore& s, std::vector<StateOp> ops, std::uint64_t deadline = 0) {
    std::optional<StateResult> got;
    int calls = 0;
    s.run(std::move(ops), deadline, [&](StateResult r) {
        ++calls;
        got = std::move(r);
    });
    CHECK_FALSE(got.has_value());   // never synchronous
    REQUIRE(loop.run_until([&] { return got.has_value(); }, 5000));
    loop.run_for(20);
    CHECK(calls == 1);
    return std::move(*got);
}

// The options of a Redis store on the test's server.
io::StateOptions redis_options(std::uint16_t port, std::uint64_t timeout_ms = 1000) {
    io::StateOptions o;
    o.backend = io::StateOptions::Backend::Redis;
    o.port = port;
    o.timeout_ms = timeout_ms;
    return o;
}

// What every backend must do the same way.
void exercise(io::test::TestLoop& loop, io::StateStore& s) {
    auto r = run(loop, s,
                 {StateOp::set("k1", "hello", 0), StateOp::get("k1"), StateOp::get("missing"),
                  StateOp::incr("c", 1, 60000), StateOp::incr("c", 5, 60000), StateOp::window_add("w", 60000),
                  StateOp::window_add("w", 60000), StateOp::window_count("w", 60000)});
    REQUIRE_MESSAGE(r.ok(), r.error);
    REQUIRE(r.replies.size() == 8);
    CHECK(r.replies[1].found);
    CHECK(r.replies[1].value == "hello");
    CHECK_FALSE(r.replies[2].found);
    CHECK(r.replies[3].number == 1);
    CHECK(r.replies[4].number == 6);
    CHECK(r.replies[5].number == 1);
    CHECK(r.replies[6].number == 2);
    CHECK(r.replies[7].number == 2);

    // A read-only batch; a delete.
    r = run(loop, s, {StateOp::get("k1"), StateOp::window_count("w", 60000)});
    REQUIRE(r.ok());
    CHECK(r.replies[0].value == "hello");
    CHECK(r.replies[1].number == 2);
    r = run(loop, s, {StateOp::del("k1"), StateOp::get("k1")});
    REQUIRE(r.ok());
    CHECK_FALSE(r.replies[1].found);

    // Expiry: a short TTL, a counter's fixed window, a sliding window.
    r = run(loop, s, {StateOp::set("short", "x", 150), StateOp::incr("cnt", 1, 150), StateOp::window_add("sw", 150)});
    REQUIRE(r.ok());
    loop.run_for(400);
    r = run(loop, s, {StateOp::get("short"), StateOp::incr("cnt", 1, 150), StateOp::window_count("sw", 150),
                      StateOp::window_add("sw", 150)});
    REQUIRE(r.ok());
    CHECK_FALSE(r.replies[0].found);
    CHECK(r.replies[1].number == 1);   // the old counter expired: a new one
    CHECK(r.replies[2].number == 0);
    CHECK(r.replies[3].number == 1);

    // A window costs the same whatever its count: a thousand events, one bucket, exact.
    std::vector<StateOp> many;
    for (int i = 0; i < 1000; ++i) many.push_back(StateOp::window_add("busy", 60000));
    many.push_back(StateOp::window_count("busy", 60000));
    r = run(loop, s, std::move(many));
    REQUIRE(r.ok());
    CHECK(r.replies[999].number == 1000);
    CHECK(r.replies[1000].number == 1000);

    // An empty batch answers Ok with no replies, from the loop too.
    r = run(loop, s, {});
    CHECK(r.ok());
    CHECK(r.replies.empty());
    CHECK(s.stats().batches >= 6);
}

}  // namespace

TEST_CASE("state store, embedded: every op, expiry, and the file survives the store") {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "state.mdb";
    {
        auto s = io::make_state_store(loop.get(), o);
        CHECK(std::string(s->backend()) == "embedded");
        exercise(loop, *s);
        auto r = run(loop, *s, {StateOp::set("kept", "across restarts", 3600000)});
        REQUIRE(r.ok());
    }
    // A new store on the same file (a restarted daemon) sees what the old one wrote.
    auto s = io::make_state_store(loop.get(), o);
    auto r = run(loop, *s, {StateOp::get("kept"), StateOp::get("c")});
    REQUIRE(r.ok());
    CHECK(r.replies[0].value == "across restarts");
    CHECK(r.replies[1].value == "6");
}

TEST_CASE("state store, embedded: the batches of one loop iteration share one transaction, each answered alone") {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "state.mdb";
    auto s = io::make_state_store(loop.get(), o);
    // Three callers (sessions) in one iteration: one writes, one reads what the first wrote
    // (the order is kept inside the transaction), one only reads; plus a fire-and-forget write.
    std::vector<std::optional<StateResult>> got(3);
    s->run({StateOp::incr("n", 5, 0), StateOp::set("k", "v", 0)}, 0, [&](StateResult r) { got[0] = std::move(r); });
    s->run({StateOp::get("k"), StateOp::incr("n", 1, 0)}, 0, [&](StateResult r) { got[1] = std::move(r); });
    s->run({StateOp::get("missing")}, 0, [&](StateResult r) { got[2] = std::move(r); });
    s->run({StateOp::incr("n", 10, 0)}, 0, nullptr);
    CHECK_FALSE(got[0].has_value());   // never synchronous
    REQUIRE(loop.run_until([&] { return got[0] && got[1] && got[2]; }, 5000));
    CHECK(s->stats().round_trips == 1);
    CHECK(s->stats().batches == 4);
    REQUIRE(got[0]->ok());
    CHECK(got[0]->replies.size() == 2);
    CHECK(got[0]->replies[0].number == 5);
    REQUIRE(got[1]->ok());
    REQUIRE(got[1]->replies.size() == 2);
    CHECK(got[1]->replies[0].value == "v");
    CHECK(got[1]->replies[1].number == 6);
    REQUIRE(got[2]->ok());
    CHECK_FALSE(got[2]->replies.at(0).found);
    // A batch of a later iteration is a transaction of its own, after the merged one.
    auto r = run(loop, *s, {StateOp::get("n")});
    CHECK(r.replies.at(0).value == "16");
    CHECK(s->stats().round_trips == 2);
}

TEST_CASE("state store, embedded: a path that cannot be opened is Unavailable, with the reason") {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "no/such/dir/state.mdb";
    auto s = io::make_state_store(loop.get(), o);
    auto r = run(loop, *s, {StateOp::get("k")});
    CHECK(r.status == StateStatus::Unavailable);
    CHECK(r.error.find("no/such/dir/state.mdb") != std::string::npos);
    CHECK(s->stats().failures == 1);
}

TEST_CASE("state store, redis: every op on a real redis-server, keys under the prefix") {
    TmpDir dir;
    test::RedisServer redis(dir.path());
    io::test::TestLoop loop;
    auto o = redis_options(redis.port());
    o.prefix = "t1:";
    auto s = io::make_state_store(loop.get(), o);
    CHECK(std::string(s->backend()) == "redis");
    exercise(loop, *s);
    // The prefix is the store's: another prefix on the same server sees nothing.
    auto r = run(loop, *s, {StateOp::set("shared", "v", 0)});
    REQUIRE(r.ok());
    o.prefix = "t2:";
    auto other = io::make_state_store(loop.get(), o);
    r = run(loop, *other, {StateOp::get("shared"), StateOp::set("shared", "w", 0)});
    REQUIRE(r.ok());
    CHECK_FALSE(r.replies[0].found);
    r = run(loop, *s, {StateOp::get("shared")});
    REQUIRE(r.ok());
    CHECK(r.replies[0].value == "v");
    // One pipelined round trip per batch.
    CHECK(s->stats().round_trips == s->stats().batches - 1);   // the empty batch sends nothing
    CHECK(s->stats().failures == 0);
}

// One command through redis-cli, its output.
std::string redis_cli(std::uint16_t port, const std::string& command) {
    const std::string cmd = "redis-cli -h 127.0.0.1 -p " + std::to_string(port) + " " + command;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    REQUIRE(::pclose(p) == 0);
    return out;
}

// What redis-server counted for one command (INFO commandstats).
long redis_calls(std::uint16_t port, const std::string& command) {
    const std::string out = redis_cli(port, "INFO commandstats");
    const std::string tag = "cmdstat_" + command + ":calls=";
    const auto at = out.find(tag);
    return at == std::string::npos ? 0 : std::stol(out.substr(at + tag.size()));
}

TEST_CASE("state store, redis 7: no script - a counter is INCRBY + PEXPIRE NX, a window HINCRBY + HGETALL") {
    TmpDir dir;
    test::RedisServer redis(dir.path());
    io::test::TestLoop loop;
    auto o = redis_options(redis.port());
    auto s = io::make_state_store(loop.get(), o);
    REQUIRE(run(loop, *s, {StateOp::get("warm")}).ok());   // connected, and the probe answered
    const long scripts = redis_calls(redis.port(), "evalsha") + redis_calls(redis.port(), "eval");
    auto r = run(loop, *s, {StateOp::incr("fixed", 1, 600), StateOp::incr("forever", 2, 0)});
    REQUIRE(r.ok());
    CHECK(r.replies[0].number == 1);
    CHECK(r.replies[1].number == 2);
    loop.run_for(350);
    r = run(loop, *s, {StateOp::incr("fixed", 1, 600)});   // must not push the expiry back
    REQUIRE(r.ok());
    CHECK(r.replies[0].number == 2);
    loop.run_for(400);
    r = run(loop, *s, {StateOp::incr("fixed", 1, 600), StateOp::incr("forever", 1, 0)});
    REQUIRE(r.ok());
    CHECK(r.replies[0].number == 1);   // 750 ms after it was made: a new window
    CHECK(r.replies[1].number == 3);   // no expiry asked, none given
    CHECK(redis_calls(redis.port(), "evalsha") + redis_calls(redis.port(), "eval") == scripts);
    CHECK(redis_calls(redis.port(), "incrby") == 5);
    CHECK(s->stats().round_trips == 4);

    // A window is a hash of bucket fields, counted here; buckets that no longer count go.
    r = run(loop, *s, {StateOp::window_add("win", 200), StateOp::window_add("win", 200), StateOp::window_count("win", 200)});
    REQUIRE(r.ok());
    CHECK(r.replies[1].number == 2);
    CHECK(r.replies[2].number == 2);
    loop.run_for(300);   // past the window and every bucket's reach (21 x 10 ms)
    r = run(loop, *s, {StateOp::window_count("win", 200)});
    REQUIRE(r.ok());
    CHECK(r.replies[0].number == 0);
    // A window kept alive by new events: its old buckets are deleted as they fall out of reach.
    for (int i = 0; i < 6; ++i) {
        r = run(loop, *s, {StateOp::window_add("live", 200)});
        REQUIRE(r.ok());
        CHECK(r.replies[0].number >= 1);
        CHECK(r.replies[0].number <= 3);   // one event every ~100 ms in a 200 ms window
        loop.run_for(100);
    }
    CHECK(std::stoi(redis_cli(redis.port(), "HLEN asmtpd:live")) <= 3);
    CHECK(redis_calls(redis.port(), "evalsha") + redis_calls(redis.port(), "eval") == scripts);
    CHECK(redis_calls(redis.port(), "hdel") >= 1);
}

TEST_CASE("state store, redis: server gone -> Unavailable at once, back after the backoff") {
    TmpDir dir;
    auto redis = std::make_unique<test::RedisServer>(dir.path());
    const auto port = redis->port();
    io::test::TestLoop loop;
    auto o = redis_options(port);
    auto s = io::make_state_store(loop.get(), o);
    REQUIRE(run(loop, *s, {StateOp::set("a", "1", 0)}).ok());

    redis->stop();
    auto r = run(loop, *s, {StateOp::get("a")});
    CHECK(r.status == StateStatus::Unavailable);
    // Within the backoff: no connection attempt, an immediate answer naming the server.
    r = run(loop, *s, {StateOp::get("a")});
    CHECK(r.status == StateStatus::Unavailable);
    CHECK(r.error.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);

    redis = std::make_unique<test::RedisServer>(dir.path(), port);
    bool back = false;
    for (int i = 0; i < 60 && !back; ++i) {
        back = run(loop, *s, {StateOp::set("b", "2", 0), StateOp::get("b")}).ok();
        if (!back) loop.run_for(100);
    }
    CHECK(back);
    // The new server knows no script: EVALSHA's NOSCRIPT sends the script again (EVAL).
    auto again = run(loop, *s, {StateOp::incr("n", 5, 0), StateOp::window_add("w", 60000), StateOp::incr("n", 1, 0)});
    REQUIRE_MESSAGE(again.ok(), again.error);
    CHECK(again.replies[0].number == 5);
    CHECK(again.replies[1].number == 1);
    CHECK(again.replies[2].number == 6);
}

TEST_CASE("state store, redis: a server that does not answer -> Timeout at the deadline, then recovery") {
    TmpDir dir;
    test::RedisServer redis(dir.path());
    io::test::TestLoop loop;
    auto o = redis_options(redis.port(), 300);
    auto s = io::make_state_store(loop.get(), o);
    REQUIRE(run(loop, *s, {StateOp::set("a", "1", 0)}).ok());
    redis.pause();
    auto r = run(loop, *s, {StateOp::get("a")}, 5000);   // capped by the store's 300 ms
    CHECK(r.status == StateStatus::Timeout);
    CHECK(s->stats().timeouts == 1);
    redis.resume();
    bool back = false;
    for (int i = 0; i < 60 && !back; ++i) {
        auto again = run(loop, *s, {StateOp::get("a")});
        back = again.ok() && again.replies[0].value == "1";
        if (!back) loop.run_for(100);
    }
    CHECK(back);
}

TEST_CASE("state store, redis: each batch keeps its own deadline, the shorter one behind a longer one too") {
    TmpDir dir;
    test::RedisServer redis(dir.path());
    io::test::TestLoop loop;
    auto o = redis_options(redis.port(), 3000);
    auto s = io::make_state_store(loop.get(), o);
    REQUIRE(run(loop, *s, {StateOp::set("a", "1", 0)}).ok());
    redis.pause();
    std::optional<StateResult> first, second;
    const auto start = std::chrono::steady_clock::now();
    s->run({StateOp::get("a")}, 0, [&](StateResult r) { first = std::move(r); });       // 3 s
    s->run({StateOp::get("a")}, 150, [&](StateResult r) { second = std::move(r); });    // 150 ms
    REQUIRE(loop.run_until([&] { return second.has_value(); }, 5000));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    CHECK(second->status == StateStatus::Timeout);
    CHECK(waited.count() >= 140);
    CHECK(waited.count() < 1500);
    // The connection went with it: the batch ahead is answered at once, not at its own deadline.
    REQUIRE(loop.run_until([&] { return first.has_value(); }, 500));
    CHECK(first->status == StateStatus::Unavailable);
    CHECK(s->stats().timeouts == 1);
    redis.resume();
}

TEST_CASE("state store: StateScope drops the callbacks of an ended session") {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "state.mdb";
    auto s = io::make_state_store(loop.get(), o);
    bool called = false;
    {
        io::StateScope scope(*s);
        scope.run({StateOp::set("x", "1", 0)}, 0, [&](StateResult) { called = true; });
    }
    loop.run_for(300);
    CHECK_FALSE(called);
    auto r = run(loop, *s, {StateOp::get("x")});   // the write itself still happened
    CHECK(r.replies[0].value == "1");
}

TEST_CASE("state store: StateScope merges a session's batches of one loop iteration; prefetch and claim") {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "state.mdb";
    auto s = io::make_state_store(loop.get(), o);
    io::StateScope scope(*s);
    // Two fire-and-forget writes are held; a prefetch too; a batch with a callback takes all.
    scope.run({StateOp::set("a", "1", 0)}, 0, {});
    scope.run({StateOp::incr("c", 2, 0)}, 0, {});
    scope.prefetch("p", {StateOp::get("a"), StateOp::incr("c", 1, 0)}, 0);
    std::optional<StateResult> mine;
    scope.run({StateOp::get("a"), StateOp::get("c")}, 0, [&](StateResult r) { mine = std::move(r); });
    REQUIRE(loop.run_until([&] { return mine.has_value(); }, 5000));
    CHECK(s->stats().batches == 4);
    CHECK(s->stats().round_trips == 1);
    REQUIRE(mine->ok());
    REQUIRE(mine->replies.size() == 2);   // its own replies only
    CHECK(mine->replies[0].value == "1");
    CHECK(mine->replies[1].value == "3");
    // The prefetch's answer is kept: claim() gives it inside the call; a second claim has none.
    std::optional<StateResult> pre;
    CHECK(scope.claim("p", [&](StateResult r) { pre = std::move(r); }));
    REQUIRE(pre.has_value());
    REQUIRE(pre->replies.size() == 2);
    CHECK(pre->replies[0].value == "1");
    CHECK(pre->replies[1].number == 3);
    CHECK_FALSE(scope.claim("p", [](StateResult) { FAIL("claimed twice"); }));
    // A claim of a held prefetch sends it at once; the answer comes from the loop.
    scope.prefetch("q", {StateOp::get("c")}, 0);
    std::optional<StateResult> q;
    CHECK(scope.claim("q", [&](StateResult r) { q = std::move(r); }));
    CHECK_FALSE(q.has_value());
    REQUIRE(loop.run_until([&] { return q.has_value(); }, 5000));
    CHECK(q->replies[0].value == "3");
    CHECK(s->stats().round_trips == 2);
    // A lone fire-and-forget write goes at the next loop iteration.
    scope.run({StateOp::set("late", "x", 0)}, 0, {});
    REQUIRE(loop.run_until([&] { return s->stats().round_trips == 3; }, 5000));
    auto r = run(loop, *s, {StateOp::get("late")});
    CHECK(r.replies[0].value == "x");
}

namespace {

// Runs `n` batches of {get, set} with `parallel` in flight; returns batches per second.
double measure(io::test::TestLoop& loop, io::StateStore& s, int n, int parallel) {
    int sent = 0, done = 0, failed = 0;
    std::function<void()> next = [&] {
        if (sent >= n) return;
        std::string key = "bench:" + std::to_string(sent++ % 1000);
        s.run({StateOp::get(key), StateOp::set(key, "1700000000:1:0:1", 60000)}, 0, [&](StateResult r) {
            ++done;
            if (!r.ok()) ++failed;
            next();
        });
    };
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < parallel; ++i) next();
    REQUIRE(loop.run_until([&] { return done == n; }, 120000));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(failed == 0);
    return n / secs;
}

}  // namespace

// Figures for the report, not a check: ./test_io -tc="state store: throughput*" --no-skip
TEST_CASE("state store: throughput of {get, set} batches, both backends" * doctest::skip()) {
    TmpDir dir;
    io::test::TestLoop loop;
    io::StateOptions o;
    o.path = dir / "state.mdb";
    auto embedded = io::make_state_store(loop.get(), o);
    MESSAGE("embedded, 1 in flight:  " << measure(loop, *embedded, 2000, 1) << " batches/s");
    MESSAGE("embedded, 50 in flight: " << measure(loop, *embedded, 10000, 50) << " batches/s");
    test::RedisServer redis(dir.path());
    o.backend = io::StateOptions::Backend::Redis;
    o.port = redis.port();
    auto r = io::make_state_store(loop.get(), o);
    MESSAGE("redis, 1 in flight:     " << measure(loop, *r, 2000, 1) << " batches/s");
    MESSAGE("redis, 50 in flight:    " << measure(loop, *r, 10000, 50) << " batches/s");
}

}  // namespace ASMTPD_TEST_UNIT
