// metrics_server_test.cpp - tests core/smtp/metrics_server.cpp on a real loop and loopback
// socket: the page and its content type, HEAD, 404/405/400, a head split over reads, a client
// that trickles its head (408 and the close at the request timeout), and the connection cap.
#include "core/smtp/metrics_server.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/io/listener.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::smtp;
using asmtpd::io::test::TestClient;
using asmtpd::io::test::TestLoop;

namespace {

struct Fixture {
    TestLoop loop;
    std::unique_ptr<MetricsServer> server;
    std::uint16_t port = 0;
    int renders = 0;

    explicit Fixture(MetricsServerOptions o = {}) {
        std::string error;
        const int fd = io::bind_listening_socket("127.0.0.1", 0, false, error);
        REQUIRE_MESSAGE(fd >= 0, error);
        server = MetricsServer::adopt(loop.get(), fd, [this] { ++renders; return std::string("x_total 1\n"); },
                                      io::Log(), error, o);
        REQUIRE_MESSAGE(server, error);
        port = server->port();
    }
    ~Fixture() { server->close(); }

    // Sends `request`, returns what came back before the close.
    std::string ask(const std::string& request) {
        TestClient c(loop.get(), port);
        REQUIRE(loop.run_until([&] { return c.connected; }));
        c.send(request);
        REQUIRE(loop.run_until([&] { return c.finished(); }));
        return c.received;
    }
};

bool starts(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST_CASE("metrics server: GET /metrics is the page with the exposition content type") {
    Fixture f;
    const std::string r = f.ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
    CHECK(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
    CHECK(r.find("Content-Length: 10\r\n") != std::string::npos);
    CHECK(r.find("Connection: close\r\n") != std::string::npos);
    CHECK(r.substr(r.size() - 10) == "x_total 1\n");
    CHECK(f.renders == 1);
}

TEST_CASE("metrics server: HEAD has the length and no body") {
    Fixture f;
    const std::string r = f.ask("HEAD /metrics HTTP/1.1\r\n\r\n");
    CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
    CHECK(r.find("Content-Length: 10\r\n") != std::string::npos);
    CHECK(r.substr(r.size() - 4) == "\r\n\r\n");
}

TEST_CASE("metrics server: wrong path, method and malformed heads") {
    Fixture f;
    CHECK(starts(f.ask("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 "));
    const std::string post = f.ask("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    CHECK(starts(post, "HTTP/1.1 405 "));
    CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
    CHECK(starts(f.ask("\x16\x03\x01 hello\r\n\r\n"), "HTTP/1.1 400 "));
    CHECK(starts(f.ask("GET /metrics HTTP/3.0\r\n\r\n"), "HTTP/1.1 505 "));
    CHECK(starts(f.ask("GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a')), "HTTP/1.1 431 "));
    CHECK(f.renders == 0);
}

TEST_CASE("metrics server: a head that arrives in pieces is answered once whole") {
    Fixture f;
    TestClient c(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return c.connected; }));
    c.send("GET /met");
    f.loop.run_for(30);
    CHECK(c.received.empty());
    c.send("rics HTTP/1.1\r\n\r\n");
    REQUIRE(f.loop.run_until([&] { return c.finished(); }));
    CHECK(starts(c.received, "HTTP/1.1 200 "));
}

TEST_CASE("metrics server: a client that trickles its head is cut at the request timeout") {
    MetricsServerOptions o;
    o.request_timeout_ms = 200;
    Fixture f(o);
    TestClient c(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return c.connected; }));
    for (int i = 0; i < 3; ++i) {
        c.send("X");
        f.loop.run_for(50);
    }
    REQUIRE(f.loop.run_until([&] { return c.finished(); }, 2000));
    CHECK(starts(c.received, "HTTP/1.1 408 "));
    f.loop.run_until([&] { return f.server->open_connections() == 0; }, 1000);
    CHECK(f.server->open_connections() == 0);
}

TEST_CASE("metrics server: past max_connections a new connection is closed at once") {
    MetricsServerOptions o;
    o.max_connections = 1;
    Fixture f(o);
    TestClient idle(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return idle.connected; }));
    REQUIRE(f.loop.run_until([&] { return f.server->open_connections() == 1; }));
    TestClient second(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return second.finished(); }));
    CHECK(second.received.empty());
    idle.close();
    f.loop.run_until([&] { return f.server->open_connections() == 0; }, 1000);
    CHECK(starts(f.ask("GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 "));
}

}  // namespace ASMTPD_TEST_UNIT
