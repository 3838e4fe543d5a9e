// listener_test.cpp - io::Listener: port 0, bind errors, SO_REUSEPORT sharing, close from inside
// the callback.
#include "core/io/listener.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/io/stream.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using asmtpd::io::test::TestClient;
using asmtpd::io::test::TestLoop;

namespace {

// Accepts every connection and keeps the streams.
struct Sink {
    std::vector<std::unique_ptr<TcpStream>> streams;
    Listener::OnConnection callback() {
        return [this](std::unique_ptr<TcpStream> server_stream) {
            auto s = std::move(server_stream);
            REQUIRE(s != nullptr);
            streams.push_back(std::move(s));
        };
    }
};

}  // namespace

TEST_CASE("port 0 binds a free port that accepts connections") {
    TestLoop loop;
    Sink sink;
    std::string error;
    auto l = Listener::bind(loop.get(), "127.0.0.1", 0, false, sink.callback(), error);
    REQUIRE_MESSAGE(l != nullptr, error);
    CHECK(error.empty());
    const auto port = l->port();
    CHECK(port != 0);
    {
        TestClient a(loop.get(), port), b(loop.get(), port);
        REQUIRE(loop.run_until([&] { return sink.streams.size() == 2; }));
        CHECK(a.connected);
        CHECK(b.connected);
        CHECK(sink.streams[0]->local_port() == port);
    }
    l->close();
    CHECK(l->port() == 0);
    l->close();   // idempotent
    loop.run_for(10);   // the close callback runs; the Listener object outlives it safely
}

TEST_CASE("a port in use is an error naming the address; invalid addresses are rejected") {
    TestLoop loop;
    Sink sink;
    std::string error;
    auto first = Listener::bind(loop.get(), "127.0.0.1", 0, false, sink.callback(), error);
    REQUIRE(first != nullptr);
    const auto port = first->port();

    error.clear();
    auto second = Listener::bind(loop.get(), "127.0.0.1", port, false, sink.callback(), error);
    CHECK(second == nullptr);
    CHECK(error.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK(error.find("address already in use") != std::string::npos);

    // reuseport on one side only is not enough: both must opt in.
    error.clear();
    auto third = Listener::bind(loop.get(), "127.0.0.1", port, true, sink.callback(), error);
    CHECK(third == nullptr);
    CHECK_FALSE(error.empty());

    for (const char* bad : {"", "localhost", "127.0.0.256", "1.2.3", "::g", "[::1]"}) {
        error.clear();
        CHECK(Listener::bind(loop.get(), bad, 0, false, sink.callback(), error) == nullptr);
        CHECK(error.find("not an IPv4 or IPv6 address") != std::string::npos);
    }
}

TEST_CASE("two reuseport listeners share one port and both accept") {
    TestLoop loop;
    Sink sink_a, sink_b;
    std::string error;
    auto a = Listener::bind(loop.get(), "127.0.0.1", 0, true, sink_a.callback(), error);
    REQUIRE_MESSAGE(a != nullptr, error);
    const auto port = a->port();
    auto b = Listener::bind(loop.get(), "127.0.0.1", port, true, sink_b.callback(), error);
    REQUIRE_MESSAGE(b != nullptr, error);
    CHECK(b->port() == port);

    // The kernel hashes each connection's 4-tuple to one of the sockets; with enough clients both
    // get some. 64 clients make "all on one side" a 2^-63 event.
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 64; ++i) clients.push_back(std::make_unique<TestClient>(loop.get(), port));
    REQUIRE(loop.run_until([&] { return sink_a.streams.size() + sink_b.streams.size() == 64; }));
    CHECK(sink_a.streams.size() > 0);
    CHECK(sink_b.streams.size() > 0);

    // Closing one leaves the other serving the port.
    a->close();
    sink_a.streams.clear();
    sink_b.streams.clear();
    clients.clear();
    TestClient late(loop.get(), port);
    REQUIRE(loop.run_until([&] { return sink_b.streams.size() == 1; }));
    CHECK(sink_a.streams.empty());
}

TEST_CASE("the callback may close or destroy its own listener") {
    TestLoop loop;
    std::unique_ptr<Listener> l;
    std::unique_ptr<TcpStream> kept;
    int calls = 0;
    std::string error;
    l = Listener::bind(loop.get(), "127.0.0.1", 0, false, [&](std::unique_ptr<TcpStream> server_stream) {
        ++calls;
        kept = std::move(server_stream);
        l.reset();   // destroys the Listener, and the std::function we are running in, later
    }, error);
    REQUIRE(l != nullptr);
    const auto port = l->port();
    TestClient a(loop.get(), port);
    REQUIRE(loop.run_until([&] { return calls == 1; }));
    CHECK(l == nullptr);
    CHECK(kept != nullptr);
    TestClient b(loop.get(), port);   // nobody listens any more
    REQUIRE(loop.run_until([&] { return b.connect_status != 1; }));
    CHECK(b.connect_status == UV_ECONNREFUSED);
    CHECK(calls == 1);
}

}  // namespace ASMTPD_TEST_UNIT
