// listener.cpp - bind/listen on libuv; accepted connections go to the owner's callback.
//
// Must never: call the callback after close(), free the Block while libuv holds the handle, or
// hide a bind error (libuv reports EADDRINUSE from uv_listen, not uv_tcp_bind: both are checked).
// Ownership: the Block is freed by whoever lets go last, the close callback or the Listener's
// destructor (as TcpStream does), so close() followed by a late destructor is safe.
#include "core/io/listener.hpp"

#include <sys/socket.h>

#include <fmt/format.h>

#include "core/io/sock_name.hpp"

namespace asmtpd::io {

namespace {

constexpr int kBacklog = 1024;

}  // namespace

struct Listener::Block {
    uv_tcp_t tcp;
    OnConnection on_connection;
    bool owner = true;      // a Listener still points here
    bool closing = false;   // uv_close() called
    bool closed = false;    // close callback ran
};

namespace {

using Block = Listener::Block;

void on_closed(uv_handle_t* h) {
    auto* b = static_cast<Block*>(h->data);
    b->closed = true;
    if (!b->owner) delete b;
}

void close_block(Block* b) {
    if (b->closing) return;
    b->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&b->tcp), on_closed);
}

void on_incoming(uv_stream_t* server, int status) {
    auto* b = static_cast<Block*>(server->data);
    // status < 0 (EMFILE and friends) is transient; libuv keeps listening and retries.
    if (status < 0 || b->closing || !b->on_connection) return;
    b->on_connection(server);   // may close or destroy the Listener; b stays valid until on_closed
}

std::string describe(const std::string& address, std::uint16_t port) {
    return address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                  : fmt::format("{}:{}", address, port);
}

}  // namespace

std::unique_ptr<Listener> Listener::bind(uv_loop_t* loop, const std::string& address, std::uint16_t port,
                                         bool reuseport, OnConnection on_connection, std::string& error) {
    sockaddr_storage ss{};
    unsigned family = AF_INET;
    if (uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0) {
        family = AF_INET6;
        if (uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
            error = fmt::format("listen {}: not an IPv4 or IPv6 address", describe(address, port));
            return nullptr;
        }
    }

    auto* b = new Block;
    b->on_connection = std::move(on_connection);
    b->tcp.data = b;
    // With reuseport the socket must exist before bind to set the option; uv_tcp_init_ex creates it.
    int rc = uv_tcp_init_ex(loop, &b->tcp, reuseport ? family : AF_UNSPEC);
    if (rc != 0) {
        error = fmt::format("listen {}: {}", describe(address, port), uv_strerror(rc));
        delete b;   // never registered with the loop
        return nullptr;
    }
    std::unique_ptr<Listener> listener(new Listener(b));

    const char* step = "bind";
    if (reuseport) {
        uv_os_fd_t fd = -1;
        int one = 1;
        rc = uv_fileno(reinterpret_cast<uv_handle_t*>(&b->tcp), &fd);
        if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) rc = uv_translate_sys_error(errno);
        step = "SO_REUSEPORT";
    }
    if (rc == 0) {
        step = "bind";
        rc = uv_tcp_bind(&b->tcp, reinterpret_cast<const sockaddr*>(&ss), 0);
    }
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&b->tcp), kBacklog, on_incoming);
    if (rc != 0) {
        error = fmt::format("{} {}: {}", step, describe(address, port), uv_strerror(rc));
        return nullptr;   // the destructor closes the handle
    }
    return listener;
}

Listener::~Listener() {
    block_->owner = false;
    if (block_->closed) {
        delete block_;
        return;
    }
    close_block(block_);
}

void Listener::close() { close_block(block_); }

std::uint16_t Listener::port() const {
    if (block_->closing) return 0;
    return local_name(&block_->tcp).port;
}

}  // namespace asmtpd::io
