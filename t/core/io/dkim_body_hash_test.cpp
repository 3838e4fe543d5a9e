// dkim_body_hash_test.cpp - tests core/io/dkim_body_hash.cpp: the RFC 8463 Appendix A body
// hash from streamed chunks, the two empty-body hashes, and l= capping the hash only; the
// offloaded hash on a real CpuThread: batches across jobs, a destroyed owner with jobs
// queued, the backlog cap.
#include "core/io/dkim_body_hash.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/io/cpu_thread.hpp"
#include "core/proto/sasl.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io::dkim;
using asmtpd::proto::base64_encode;
using asmtpd::proto::dkim::Canon;

TEST_CASE("RFC 8463 A.3 bh= from the body fed in chunks of any size") {
    const std::string body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
    for (std::size_t step = 1; step <= body.size(); ++step) {
        BodyHasher h(Canon::Simple, std::nullopt);
        for (std::size_t i = 0; i < body.size(); i += step) h.feed(std::string_view(body).substr(i, step));
        const BodyDigest d = h.finish();
        CAPTURE(step);
        CHECK(base64_encode(d.hash) == "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
        CHECK(d.canonical_length == body.size() - 2);   // the trailing empty line is not hashed
    }
}

TEST_CASE("empty bodies: the well-known simple and relaxed hashes") {
    BodyHasher simple(Canon::Simple, std::nullopt);
    CHECK(base64_encode(simple.finish().hash) == "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    BodyHasher relaxed(Canon::Relaxed, std::nullopt);
    relaxed.feed("\r\n\r\n");
    const BodyDigest d = relaxed.finish();
    CHECK(base64_encode(d.hash) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    CHECK(d.canonical_length == 0);
}

TEST_CASE("l= caps what is hashed, not the length reported") {
    BodyHasher h(Canon::Relaxed, 3);
    h.feed("abc  def\r\nmore\r\n");
    const BodyDigest d = h.finish();
    CHECK(d.hash == sha256("abc"));
    CHECK(d.canonical_length == 15);
}

// ---- OffloadedBodyHash: the hashing on the loop's CPU thread (a real io::CpuThread) ----

namespace {

using asmtpd::io::CpuThread;
using asmtpd::io::test::TestLoop;
using asmtpd::proto::dkim::canonicalize_body;

// A body with what canonicalization changes: WSP runs and line-end WSP, empty lines inside and
// at the end, a line split across every batch boundary at some point.
std::string test_body(std::size_t lines) {
    std::string body;
    for (std::size_t i = 0; i < lines; ++i) {
        body += "line " + std::to_string(i) + (i % 3 ? " \t with  runs\t " : "") + std::string(i % 50, 'x');
        body += i % 7 ? "\r\n" : "  \r\n\r\n";
    }
    return body + "\r\n\r\n";
}

BodyDigest expected(Canon canon, const std::string& body, std::optional<std::uint64_t> limit) {
    const std::string c = canonicalize_body(canon, body);
    return {sha256(limit ? c.substr(0, *limit) : c), c.size()};
}

// The digests, computed in a job after everything posted so far (as the dkim plugin's judge).
std::vector<BodyDigest> finish_on(CpuThread& cpu, TestLoop& loop, const OffloadedBodyHash& h) {
    std::vector<BodyDigest> out;
    bool done = false;
    cpu.run([&] { out = h.finish(); }, [&] { done = true; });
    REQUIRE(loop.run_until([&] { return done; }));
    return out;
}

// Blocks the CPU thread until release() (or destruction): jobs posted meanwhile stay queued.
struct Blocker {
    std::atomic<bool> go{false}, started{false};
    explicit Blocker(CpuThread& cpu) {
        cpu.post([this] {
            started = true;
            while (!go) std::this_thread::yield();
        });
        while (!started) std::this_thread::yield();
    }
    void release() { go = true; }
    ~Blocker() { go = true; }
};

}  // namespace

TEST_CASE("offloaded body hash: chunks fed across many jobs give the in-memory canonical hashes") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    const std::string body = test_body(4000);   // ~150 KB
    OffloadedBodyHash h([&](std::function<void()> job) { cpu.post(std::move(job)); }, {1000, 1u << 30});
    CHECK(h.add(Canon::Relaxed, std::nullopt) == 0);
    CHECK(h.add(Canon::Simple, std::nullopt) == 1);
    CHECK(h.add(Canon::Relaxed, 5000) == 2);
    CHECK(h.add(Canon::Simple, body.size() * 2) == 3);
    for (std::size_t i = 0, step = 1; i < body.size(); i += step, step = step % 97 + 1)
        h.feed(std::string_view(body).substr(i, step));
    h.end();
    CHECK(h.stats().jobs > 100);
    CHECK(h.stats().hashed_here == 0);
    const auto d = finish_on(cpu, loop, h);
    REQUIRE(d.size() == 4);
    const BodyDigest want[] = {expected(Canon::Relaxed, body, std::nullopt), expected(Canon::Simple, body, std::nullopt),
                               expected(Canon::Relaxed, body, 5000), expected(Canon::Simple, body, std::nullopt)};
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        CHECK(d[i].hash == want[i].hash);
        CHECK(d[i].canonical_length == want[i].canonical_length);
    }
    CHECK(h.backlog() == 0);
    CHECK(h.finish()[0].hash == want[0].hash);   // idempotent
}

TEST_CASE("offloaded body hash: a small body is hashed by finish() alone; no post hashes on the caller") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    const std::string body = test_body(40);
    int posted = 0;
    OffloadedBodyHash h([&](std::function<void()> job) { ++posted, cpu.post(std::move(job)); });
    h.add(Canon::Relaxed, std::nullopt);
    h.feed(body);
    h.end();
    CHECK(posted == 0);   // under one batch: the judging job's finish() takes it
    CHECK(finish_on(cpu, loop, h)[0].hash == expected(Canon::Relaxed, body, std::nullopt).hash);

    OffloadedBodyHash inline_hash({}, {100, 1000});
    inline_hash.add(Canon::Simple, std::nullopt);
    inline_hash.feed(body);
    inline_hash.end();
    CHECK(inline_hash.stats().jobs == 0);
    CHECK(inline_hash.stats().hashed_here == body.size());
    CHECK(inline_hash.finish()[0].hash == expected(Canon::Simple, body, std::nullopt).hash);
}

TEST_CASE("offloaded body hash: hashed batches come back to the loop, which starts the next one in them") {
    const std::string body = test_body(400);
    OffloadedBodyHash h([](std::function<void()> job) { job(); }, {100, 1u << 30});   // hashed at once
    h.add(Canon::Relaxed, std::nullopt);
    for (std::size_t i = 0; i < body.size(); i += 10) h.feed(std::string_view(body).substr(i, 10));
    h.end();
    CHECK(h.stats().jobs == body.size() / 100);
    CHECK(h.stats().reused == (body.size() + 99) / 100 - 1);   // every batch after the first
    CHECK(h.finish()[0].hash == expected(Canon::Relaxed, body, std::nullopt).hash);
}

TEST_CASE("offloaded body hash: destroyed with jobs queued, the jobs still run on their own state") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    const std::string body = test_body(2000);
    Blocker blocker(cpu);
    auto h = std::make_unique<OffloadedBodyHash>([&](std::function<void()> job) { cpu.post(std::move(job)); },
                                                 OffloadedBodyHash::Limits{1000, 1u << 30});
    h->add(Canon::Relaxed, std::nullopt);
    h->add(Canon::Simple, 100);
    h->feed(body);   // ~75 batches queued behind the blocker
    for (std::size_t i = 0; i < 10; ++i) h->feed(std::string(1000, 'y'));
    CHECK(h->stats().jobs >= 10);
    CHECK(h->backlog() > 10000);
    h.reset();   // the session closed mid-DATA
    blocker.release();
    bool done = false;
    cpu.run([] {}, [&] { done = true; });   // FIFO: every drain job has run (under ASan: no use after free)
    REQUIRE(loop.run_until([&] { return done; }));
}

TEST_CASE("offloaded body hash: past the backlog cap the caller hashes in place, in order") {
    TestLoop loop;
    CpuThread cpu(loop.get());
    const std::string body = test_body(3000);
    {
        Blocker blocker(cpu);   // the thread is busy (other sessions' jobs): nothing drains
        OffloadedBodyHash h([&](std::function<void()> job) { cpu.post(std::move(job)); }, {1000, 4000});
        h.add(Canon::Relaxed, std::nullopt);
        std::size_t most = 0;
        for (std::size_t i = 0; i < body.size(); i += 100) {
            h.feed(std::string_view(body).substr(i, 100));
            most = std::max(most, h.backlog());
        }
        h.end();
        CHECK(most <= 4000);   // bounded: never more than the cap queued
        CHECK(h.stats().hashed_here > body.size() / 2);
        CHECK(h.stats().jobs >= 3);
        blocker.release();
        CHECK(finish_on(cpu, loop, h)[0].hash == expected(Canon::Relaxed, body, std::nullopt).hash);
    }
    // The thread and the caller racing for the same state (a small cap, nothing blocked).
    for (int round = 0; round < 5; ++round) {
        OffloadedBodyHash h([&](std::function<void()> job) { cpu.post(std::move(job)); }, {512, 1024});
        h.add(Canon::Simple, std::nullopt);
        h.add(Canon::Relaxed, 70000);
        for (std::size_t i = 0; i < body.size(); i += 333) h.feed(std::string_view(body).substr(i, 333));
        h.end();
        const auto d = finish_on(cpu, loop, h);
        CHECK(d[0].hash == expected(Canon::Simple, body, std::nullopt).hash);
        CHECK(d[1].hash == expected(Canon::Relaxed, body, 70000).hash);
        CHECK(d[1].canonical_length == expected(Canon::Relaxed, body, std::nullopt).canonical_length);
    }
}

}  // namespace ASMTPD_TEST_UNIT
