// connector_test.cpp - tests core/io/connector.cpp (and TcpStream::adopt): TCP and Unix-domain
// connections that carry bytes both ways, refused and timed-out attempts, names that would need
// DNS, cancellation by destruction, and that the callback never runs inside connect_*().
#include "core/io/connector.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/io/listener.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using asmtpd::io::test::TestLoop;

namespace {

struct Recorder : StreamListener {
    std::string data;
    int eofs = 0;
    void on_read(std::string_view b) override { data.append(b); }
    void on_eof() override { ++eofs; }
};

struct Outcome {
    bool called = false;
    int calls = 0;
    std::unique_ptr<Transport> stream;
    std::string error;
};

ConnectCallback record(Outcome& o) {
    return [&o](std::unique_ptr<Transport> s, std::string e) {
        o.called = true;
        ++o.calls;
        o.stream = std::move(s);
        o.error = std::move(e);
    };
}

// A loopback listener whose accepted streams pile up in `accepted`.
struct TcpServer {
    std::unique_ptr<Listener> listener;
    std::vector<std::unique_ptr<TcpStream>> accepted;
    explicit TcpServer(uv_loop_t* loop, const std::string& ip = "127.0.0.1") {
        std::string error;
        listener = Listener::bind(loop, ip, 0, false, [this](std::unique_ptr<TcpStream> s_stream) { accepted.push_back(std::move(s_stream)); },
                                  error);
        REQUIRE_MESSAGE(listener != nullptr, error);
    }
    std::uint16_t port() const { return listener->port(); }
};

// A port nobody listens on (bound, read, released).
std::uint16_t closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("connect_tcp: a connection that carries bytes both ways") {
    TestLoop loop;
    TcpServer server(loop.get());
    Outcome o;
    auto attempt = connect_tcp(loop.get(), "127.0.0.1", server.port(), 2000, record(o));
    CHECK_FALSE(o.called);   // never from inside connect_tcp
    REQUIRE(loop.run_until([&] { return o.called && !server.accepted.empty(); }));
    REQUIRE(o.stream != nullptr);
    CHECK(o.error.empty());
    CHECK(o.calls == 1);

    Recorder client, srv;
    o.stream->set_listener(&client);
    REQUIRE(server.accepted[0] != nullptr);
    server.accepted[0]->set_listener(&srv);
    o.stream->write("EHLO x\r\n");
    server.accepted[0]->write("250 ok\r\n");
    REQUIRE(loop.run_until([&] { return srv.data == "EHLO x\r\n" && client.data == "250 ok\r\n"; }));
    // The peer closing is seen as EOF on the adopted stream.
    server.accepted[0].reset();
    REQUIRE(loop.run_until([&] { return client.eofs == 1; }));
    auto* tcp = dynamic_cast<TcpStream*>(o.stream.get());
    REQUIRE(tcp != nullptr);
    CHECK(tcp->peer_ip() == "127.0.0.1");
    CHECK(tcp->peer_port() == server.port());
    attempt.reset();   // after the outcome: harmless
    loop.run_for(20);
    CHECK(o.calls == 1);
}

TEST_CASE("connect_tcp: localhost and IPv6 literals") {
    TestLoop loop;
    TcpServer server(loop.get());
    Outcome o;
    auto attempt = connect_tcp(loop.get(), "localhost", server.port(), 2000, record(o));
    REQUIRE(loop.run_until([&] { return o.called; }));
    CHECK(o.stream != nullptr);

    std::string error;
    auto v6 = Listener::bind(loop.get(), "::1", 0, false, [](std::unique_ptr<TcpStream>) {}, error);
    if (!v6) {
        MESSAGE("no IPv6 loopback here: ", error);
        return;
    }
    for (const char* host : {"::1", "[::1]"}) {
        Outcome o6;
        auto a6 = connect_tcp(loop.get(), host, v6->port(), 2000, record(o6));
        REQUIRE(loop.run_until([&] { return o6.called; }));
        CHECK_MESSAGE(o6.stream != nullptr, o6.error);
    }
}

TEST_CASE("connect_tcp: refused, and names that would need DNS") {
    TestLoop loop;
    Outcome refused;
    const std::uint16_t port = closed_port();
    auto a = connect_tcp(loop.get(), "127.0.0.1", port, 2000, record(refused));
    REQUIRE(loop.run_until([&] { return refused.called; }));
    CHECK(refused.stream == nullptr);
    CHECK(refused.error == "connect to 127.0.0.1:" + std::to_string(port) + ": connection refused");

    for (const char* host : {"mx.example.org", "", "127.0.0.1.", "1.2.3", "[127.0.0.1]x", "::1]"}) {
        Outcome o;
        auto b = connect_tcp(loop.get(), host, 25, 2000, record(o));
        CHECK_FALSE(o.called);   // reported from the loop, not from inside the call
        REQUIRE(loop.run_until([&] { return o.called; }));
        INFO(host);
        CHECK(o.stream == nullptr);
        CHECK(o.error.find("not an IP address") != std::string::npos);
    }
    Outcome zero;
    auto z = connect_tcp(loop.get(), "127.0.0.1", 0, 2000, record(zero));
    REQUIRE(loop.run_until([&] { return zero.called; }));
    CHECK(zero.error.find("port 0") != std::string::npos);
}

TEST_CASE("connect_tcp: a listener that never completes the handshake times out") {
    TestLoop loop;
    // backlog 0 and nobody accepting: once the queue is full the kernel drops further SYNs.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 0) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const std::uint16_t port = ntohs(a.sin_port);
    std::vector<Outcome> fill(3);
    std::vector<std::unique_ptr<Connecting>> attempts;
    for (auto& f : fill) attempts.push_back(connect_tcp(loop.get(), "127.0.0.1", port, 400, record(f)));
    REQUIRE(loop.run_until([&] {
        for (auto& f : fill)
            if (!f.called) return false;
        return true;
    }, 3000));
    int timed_out = 0;
    for (auto& f : fill) {
        if (f.stream == nullptr) {
            CHECK(f.error == "connect to 127.0.0.1:" + std::to_string(port) + ": timed out after 400 ms");
            ++timed_out;
        }
    }
    CHECK(timed_out >= 1);
    fill.clear();
    attempts.clear();
    ::close(fd);
}

TEST_CASE("connect_tcp: destroying the attempt cancels it; the callback never runs") {
    TestLoop loop;
    TcpServer server(loop.get());
    Outcome o;
    auto attempt = connect_tcp(loop.get(), "127.0.0.1", server.port(), 2000, record(o));
    attempt.reset();
    loop.run_for(100);
    CHECK_FALSE(o.called);

    Outcome bad;
    auto b = connect_tcp(loop.get(), "not-an-ip", 25, 2000, record(bad));
    b.reset();   // an early error pending on the timer is cancelled too
    loop.run_for(50);
    CHECK_FALSE(bad.called);
}

TEST_CASE("connect_tcp: the callback may destroy the attempt") {
    TestLoop loop;
    TcpServer server(loop.get());
    std::unique_ptr<Connecting> attempt;
    std::unique_ptr<Transport> stream;
    int calls = 0;
    attempt = connect_tcp(loop.get(), "127.0.0.1", server.port(), 2000, [&](std::unique_ptr<Transport> s, std::string) {
        ++calls;
        stream = std::move(s);
        attempt.reset();
    });
    REQUIRE(loop.run_until([&] { return calls == 1; }));
    CHECK(stream != nullptr);
    CHECK(attempt == nullptr);
}

TEST_CASE("connect_unix: a Unix-domain socket, a missing one, and a path too long") {
    TestLoop loop;
    char dir[] = "/tmp/asmtpd-conn-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/lmtp.sock";

    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::snprintf(un.sun_path, sizeof un.sun_path, "%s", path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0);
    REQUIRE(::listen(fd, 4) == 0);

    Outcome o;
    auto attempt = connect_unix(loop.get(), path, 2000, record(o));
    REQUIRE(loop.run_until([&] { return o.called; }));
    REQUIRE_MESSAGE(o.stream != nullptr, o.error);
    int peer = ::accept(fd, nullptr, nullptr);
    REQUIRE(peer >= 0);
    Recorder rec;
    o.stream->set_listener(&rec);
    o.stream->write("LHLO x\r\n");
    char buf[64] = {};
    REQUIRE(loop.run_until([&] { return ::recv(peer, buf, sizeof buf - 1, MSG_DONTWAIT | MSG_PEEK) == 8; }));
    CHECK(::recv(peer, buf, sizeof buf - 1, 0) == 8);
    CHECK(std::string(buf) == "LHLO x\r\n");
    CHECK(::send(peer, "220 lmtp\r\n", 10, 0) == 10);
    REQUIRE(loop.run_until([&] { return rec.data == "220 lmtp\r\n"; }));
    auto* tcp = dynamic_cast<TcpStream*>(o.stream.get());
    REQUIRE(tcp != nullptr);
    CHECK(tcp->peer_ip().empty());   // no IP for a Unix-domain peer
    ::close(peer);
    REQUIRE(loop.run_until([&] { return rec.eofs == 1; }));
    o.stream.reset();

    Outcome missing;
    auto m = connect_unix(loop.get(), std::string(dir) + "/nothing.sock", 2000, record(missing));
    REQUIRE(loop.run_until([&] { return missing.called; }));
    CHECK(missing.stream == nullptr);
    CHECK(missing.error.find("no such file") != std::string::npos);

    Outcome long_path;
    auto l = connect_unix(loop.get(), "/" + std::string(200, 'x'), 2000, record(long_path));
    REQUIRE(loop.run_until([&] { return long_path.called; }));
    CHECK(long_path.error.find("bad socket path") != std::string::npos);

    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir);
}

TEST_CASE("literal_address") {
    sockaddr_storage ss{};
    CHECK(literal_address("127.0.0.1", 25, ss));
    CHECK(ss.ss_family == AF_INET);
    CHECK(ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port) == 25);
    CHECK(literal_address("localhost", 24, ss));
    CHECK(ss.ss_family == AF_INET);
    CHECK(literal_address("::1", 24, ss));
    CHECK(ss.ss_family == AF_INET6);
    CHECK(literal_address("[2001:db8::1]", 24, ss));
    CHECK_FALSE(literal_address("example.org", 25, ss));
    CHECK_FALSE(literal_address("", 25, ss));
    CHECK_FALSE(literal_address("[]", 25, ss));
    CHECK_FALSE(literal_address("256.1.1.1", 25, ss));
    CHECK_FALSE(literal_address("127.1", 25, ss));
}

}  // namespace ASMTPD_TEST_UNIT
