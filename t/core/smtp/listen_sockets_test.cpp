// listen_sockets_test.cpp - tests core/smtp/listen_sockets.cpp: one socket per worker and
// listener, all on the same port (also when the port is 0), handed out per worker, closed by
// release(); a port in use fails with the address named. Loopback only.
#include "core/smtp/listen_sockets.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include "core/io/listener.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::smtp;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_CASE("listen sockets: every worker gets one socket per listener on the same port") {
    std::vector<ListenSpec> listen{ListenSpec{"127.0.0.1", 0}, ListenSpec{"::1", 0}};
    std::string error;
    auto sockets = ListenSockets::bind(listen, 3, error);
    REQUIRE_MESSAGE(sockets.has_value(), error);
    auto first = ListenSockets(std::move(*sockets));
    // Each fork()ed worker takes its own; here the same object hands out two sets in turn.
    std::vector<int> w2 = first.take(2);
    REQUIRE(w2.size() == 2);
    CHECK(io::bound_port(w2[0]) != 0);
    CHECK(io::bound_port(w2[1]) != 0);
    for (int fd : w2) CHECK(is_open(fd));
    for (int fd : w2) ::close(fd);
}

TEST_CASE("listen sockets: port 0 picks one free port for all workers, and release closes them") {
    std::vector<ListenSpec> listen{ListenSpec{"127.0.0.1", 0}};
    std::string error;
    auto a = ListenSockets::bind(listen, 2, error);
    REQUIRE_MESSAGE(a.has_value(), error);
    auto b = ListenSockets::bind(listen, 2, error);
    REQUIRE(b.has_value());
    std::vector<int> a0 = ListenSockets(std::move(*a)).take(0);
    REQUIRE(a0.size() == 1);
    const std::uint16_t port = io::bound_port(a0[0]);
    ::close(a0[0]);

    // Every worker's socket of one bind shares the port: take(1) of a fresh bind to `port`.
    std::vector<ListenSpec> fixed{ListenSpec{"127.0.0.1", port}};
    auto c = ListenSockets::bind(fixed, 2, error);
    REQUIRE_MESSAGE(c.has_value(), error);
    std::vector<int> c1 = c->take(1);
    REQUIRE(c1.size() == 1);
    CHECK(io::bound_port(c1[0]) == port);
    ::close(c1[0]);

    // A port held without SO_REUSEPORT cannot be taken: the error names the address.
    int plain = io::bind_listening_socket("127.0.0.1", 0, false, error);
    REQUIRE(plain >= 0);
    std::vector<ListenSpec> taken{ListenSpec{"127.0.0.1", io::bound_port(plain)}};
    CHECK_FALSE(ListenSockets::bind(taken, 2, error).has_value());
    CHECK(error.find("127.0.0.1:") != std::string::npos);
    CHECK(error.find("address already in use") != std::string::npos);
    ::close(plain);
}

TEST_CASE("listen sockets: a port another process serves through SO_REUSEPORT is in use") {
    // What a first asmtpd with workers: 2 holds; a second one must not join its group.
    std::string error;
    std::vector<ListenSpec> any{ListenSpec{"127.0.0.1", 0}};
    auto first = ListenSockets::bind(any, 2, error);
    REQUIRE_MESSAGE(first.has_value(), error);
    std::vector<int> mine = first->take(0);
    REQUIRE(mine.size() == 1);
    const std::uint16_t port = io::bound_port(mine[0]);
    std::vector<ListenSpec> same{ListenSpec{"127.0.0.1", port}};
    error.clear();
    CHECK_FALSE(ListenSockets::bind(same, 2, error).has_value());
    CHECK(error.find("address already in use") != std::string::npos);
    CHECK_FALSE(ListenSockets::bind(same, 1, error).has_value());
    ::close(mine[0]);
}

}  // namespace ASMTPD_TEST_UNIT
