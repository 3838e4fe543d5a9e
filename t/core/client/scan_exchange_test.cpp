// scan_exchange_test.cpp - tests core/client/scan_exchange.cpp against a scanner stand-in on
// loopback (t/support/scanner_peer.hpp), on the test's own loop. Covers both framings,
// a file spool read in several pieces, an early answer, a refused connect, a scanner that never
// answers, one that keeps the connection after a whole reply (reply_complete), one that closes
// without a word, and one that floods.
#include "core/client/scan_exchange.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "core/io/listener.hpp"
#include "core/io/reactor.hpp"
#include "core/io/spool.hpp"
#include "core/io/stream.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/support/scanner_peer.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {

using Loop = io::test::TestLoop;

using test::ScannerPeer;

// Undoes the Chunked framing: the payload, and whether the zero-length end came.
std::string dechunk(std::string_view in, bool& ended) {
    std::string out;
    ended = false;
    while (in.size() >= 4) {
        const auto* p = reinterpret_cast<const unsigned char*>(in.data());
        const std::size_t n = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
        in.remove_prefix(4);
        if (n == 0) {
            ended = in.empty();
            return out;
        }
        if (in.size() < n) break;
        out.append(in.substr(0, n));
        in.remove_prefix(n);
    }
    return out;
}

struct Run {
    bool done = false;
    int calls = 0;
    client::ScanOutcome outcome;
};

void start(Loop& loop, client::ScanRequest req, Run& run) {
    client::run_scan(io::Reactor(loop.get()), std::move(req), [&run](client::ScanOutcome o) {
        ++run.calls;
        run.done = true;
        run.outcome = std::move(o);
    });
    CHECK_FALSE(run.done);   // never from inside run_scan
}

std::shared_ptr<io::Spool> spool(Loop& loop, const std::string& content, std::size_t threshold) {
    auto s = io::Spool::create(loop.get(), "/tmp", threshold);
    s->append(content);
    bool finished = false;
    s->finish([&](bool ok) { finished = ok; });
    REQUIRE(loop.run_until([&] { return finished; }));
    return s;
}

}  // namespace

TEST_CASE("scan exchange: plain framing sends head, prefix and body as they are") {
    Loop loop;
    ScannerPeer peer(loop.get());
    client::ScanRequest req;
    req.target = peer.target();
    req.head = "HEADERS SPAMC/1.5\r\nContent-length: 24\r\n\r\n";
    req.message_prefix = "Received: x\r\n";
    req.body = spool(loop, "Subject: a\r\n\r\n", 1 << 20);
    CHECK(client::scan_message_size(req) == 27);
    const std::string expected = req.head + req.message_prefix + "Subject: a\r\n\r\n";
    peer.complete = [&](const std::string& got) { return got.size() >= expected.size(); };
    peer.reply = "SPAMD/1.1 0 EX_OK\r\n";
    Run run;
    start(loop, req, run);
    REQUIRE(loop.run_until([&] { return run.done; }));
    CHECK(run.outcome.ok());
    CHECK(run.outcome.message_sent);
    CHECK(run.outcome.reply == "SPAMD/1.1 0 EX_OK\r\n");
    CHECK(peer.received == expected);
    loop.run_for(20);
    CHECK(run.calls == 1);
}

TEST_CASE("scan exchange: chunked framing streams a file spool piece by piece, then the zero length") {
    Loop loop;
    ScannerPeer peer(loop.get());
    std::string content;
    for (int i = 0; content.size() < 300 * 1024; ++i) content += "line " + std::to_string(i) + " of the body\r\n";
    client::ScanRequest req;
    req.target = peer.target();
    req.head = std::string("zINSTREAM\0", 10);
    req.message_prefix = "Received: y\r\n";
    req.body = spool(loop, content, 4096);
    REQUIRE(req.body->in_file());
    req.framing = client::ScanFraming::Chunked;
    peer.complete = [](const std::string& got) { return got.size() >= 14 && got.ends_with(std::string(4, '\0')); };
    peer.reply = std::string("stream: OK\0", 11);
    Run run;
    start(loop, req, run);
    REQUIRE(loop.run_until([&] { return run.done; }, 10000));
    CHECK_MESSAGE(run.outcome.ok(), run.outcome.error);
    CHECK(run.outcome.reply == std::string("stream: OK\0", 11));
    REQUIRE(peer.received.starts_with(std::string("zINSTREAM\0", 10)));
    bool ended = false;
    CHECK(dechunk(std::string_view(peer.received).substr(10), ended) == "Received: y\r\n" + content);
    CHECK(ended);
}

TEST_CASE("scan exchange: an early answer before the whole message is a reply, not an error") {
    Loop loop;
    ScannerPeer peer(loop.get());
    client::ScanRequest req;
    req.target = peer.target();
    req.head = "zINSTREAM";
    req.body = spool(loop, std::string(2 << 20, 'x'), 4096);
    req.framing = client::ScanFraming::Chunked;
    peer.complete = [](const std::string& got) { return got.size() >= 1000; };
    peer.reply = std::string("INSTREAM size limit exceeded. ERROR\0", 36);
    Run run;
    start(loop, req, run);
    REQUIRE(loop.run_until([&] { return run.done; }, 10000));
    CHECK(run.outcome.ok());
    CHECK_FALSE(run.outcome.message_sent);
    CHECK(run.outcome.reply.starts_with("INSTREAM size limit exceeded."));
    loop.run_for(100);   // the stand-in's lingering close sees our close
}

TEST_CASE("scan exchange: failures are errors, each reported once") {
    Loop loop;
    client::ScanRequest req;
    req.head = "PING";
    req.total_ms = 300;
    Run run;

    SUBCASE("nobody listens") {
        std::uint16_t port = 0;
        {
            ScannerPeer gone(loop.get());
            port = gone.target().port;
        }
        loop.run_for(20);
        req.target.host = "127.0.0.1";
        req.target.port = port;
        start(loop, req, run);
        REQUIRE(loop.run_until([&] { return run.done; }));
        CHECK_FALSE(run.outcome.ok());
        CHECK(run.outcome.reply.empty());
    }
    SUBCASE("the scanner never answers") {
        ScannerPeer peer(loop.get());
        peer.never = true;
        peer.complete = [](const std::string&) { return true; };
        req.target = peer.target();
        start(loop, req, run);
        REQUIRE(loop.run_until([&] { return run.done; }));
        CHECK(run.outcome.error == "no answer within 300 ms");
        CHECK(run.outcome.timed_out);
        CHECK(run.outcome.message_sent);
        CHECK(peer.received == "PING");
    }
    SUBCASE("a scanner that keeps the connection: reply_complete ends the exchange") {
        ScannerPeer peer(loop.get());
        peer.keep_open = true;
        peer.reply = "whole reply";
        peer.complete = [](const std::string& got) { return got.size() >= 4; };
        req.target = peer.target();
        req.reply_complete = [](std::string_view r) { return r.ends_with("reply"); };
        start(loop, req, run);
        REQUIRE(loop.run_until([&] { return run.done; }));
        CHECK(run.outcome.ok());
        CHECK_FALSE(run.outcome.timed_out);
        CHECK(run.outcome.reply == "whole reply");
    }
    SUBCASE("the scanner closes without a word") {
        ScannerPeer peer(loop.get());
        peer.reply.clear();
        peer.complete = [](const std::string& got) { return got.size() >= 4; };
        req.target = peer.target();
        start(loop, req, run);
        REQUIRE(loop.run_until([&] { return run.done; }));
        CHECK(run.outcome.error == "closed without a reply");
    }
    SUBCASE("the scanner floods") {
        ScannerPeer peer(loop.get());
        peer.reply = std::string(5000, 'z');
        peer.complete = [](const std::string& got) { return got.size() >= 4; };
        req.target = peer.target();
        req.max_reply = 1000;
        start(loop, req, run);
        REQUIRE(loop.run_until([&] { return run.done; }));
        CHECK(run.outcome.error == "reply over 1000 octets");
    }
    loop.run_for(50);
    CHECK(run.calls == 1);
}

}  // namespace ASMTPD_TEST_UNIT
