// control_server_test.cpp - tests core/smtp/control_server.cpp on a real loop (a loopback TCP
// socket: the server takes any listening stream socket): requests on one connection answered
// in order, the next one held while an answer is pending, a bad line answered without closing,
// an over-long line answered and closed, and an answer that comes after its client left.
#include "core/smtp/control_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

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
    std::unique_ptr<ControlServer> server;
    std::uint16_t port = 0;
    std::vector<proto::ControlVerb> asked;
    std::vector<ControlServer::Answer> held;   // reload answers, given later
    Fixture() {
        std::string error;
        const int fd = io::bind_listening_socket("127.0.0.1", 0, false, error);
        REQUIRE_MESSAGE(fd >= 0, error);
        port = io::bound_port(fd);
        server = ControlServer::adopt(loop.get(), fd,
                                      [this](proto::ControlVerb v, ControlServer::Answer a) {
                                          asked.push_back(v);
                                          if (v == proto::ControlVerb::Reload) held.push_back(std::move(a));
                                          else a(proto::control_ok_reply(v));
                                      },
                                      io::Log(), error);
        REQUIRE_MESSAGE(server, error);
    }
    ~Fixture() { server->close(); }
};

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("control server: pipelined requests are answered in order, the next held behind a pending one") {
    Fixture f;
    TestClient c(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return c.connected; }));
    c.send("status\nreload\nbogus\nplugins\n");
    REQUIRE(f.loop.run_until([&] { return lines(c.received) == 1; }));
    f.loop.run_for(50);
    CHECK(lines(c.received) == 1);              // nothing past the pending reload
    REQUIRE(f.held.size() == 1);
    CHECK(f.asked.size() == 2);
    f.held[0](proto::control_error_reply("reload failed"));
    REQUIRE(f.loop.run_until([&] { return lines(c.received) == 4; }));
    std::vector<std::string> got;
    for (std::size_t at = 0, nl; (nl = c.received.find('\n', at)) != std::string::npos; at = nl + 1)
        got.push_back(c.received.substr(at, nl + 1 - at));
    REQUIRE(got.size() == 4);
    CHECK(proto::parse_control_reply(got[0])->body["command"] == "status");
    CHECK(proto::parse_control_reply(got[1])->error == "reload failed");
    CHECK(proto::parse_control_reply(got[2])->error.rfind("unknown command 'bogus'", 0) == 0);
    CHECK(proto::parse_control_reply(got[3])->body["command"] == "plugins");
    CHECK_FALSE(c.finished());                  // a bad line does not close the connection
}

TEST_CASE("control server: a line over the cap is answered and closed") {
    Fixture f;
    TestClient c(f.loop.get(), f.port);
    REQUIRE(f.loop.run_until([&] { return c.connected; }));
    c.send(std::string(proto::kMaxControlLine + 10, 's'));
    REQUIRE(f.loop.run_until([&] { return c.finished(); }));
    const auto r = proto::parse_control_reply(c.received);
    REQUIRE(r);
    CHECK(r->error == "request line longer than 256 bytes");
    CHECK(f.asked.empty());
}

TEST_CASE("control server: an answer after the client left is dropped") {
    Fixture f;
    {
        TestClient c(f.loop.get(), f.port);
        REQUIRE(f.loop.run_until([&] { return c.connected; }));
        c.send("reload\n");
        REQUIRE(f.loop.run_until([&] { return f.held.size() == 1; }));
    }
    REQUIRE(f.loop.run_until([&] { return f.server->open_connections() == 0; }));
    f.held[0](proto::control_ok_reply(proto::ControlVerb::Reload));   // nothing to write to: no crash
    f.loop.run_for(20);
}

}  // namespace ASMTPD_TEST_UNIT
