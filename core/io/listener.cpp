// listener.cpp - a listening socket watched with uv_poll; we accept(2) ourselves.
//
// Why not uv_listen: when accept fails with EMFILE, libuv's own reserve-descriptor trick accepts
// and closes every pending connection without a word, and the callback never hears of it. Here
// the same trick answers each of them "421 4.3.2" first (RFC 5321 §3.8: a server that must
// refuse a connection should say why), so a client retries later instead of guessing.
//
// Must never: call the callback after close(), free the Block while libuv holds a handle, hide a
// bind/listen error, or spin on a listener it cannot accept from (then it rests kRetryMs).
// Ownership: the Block is freed by whoever lets go last, the close callbacks or the Listener's
// destructor, so close() followed by a late destructor is safe.
#include "core/io/listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "core/io/sock_name.hpp"

namespace asmtpd::io {

namespace {

constexpr int kBacklog = 1024;
constexpr int kAcceptsPerWakeup = 64;     // then other handles get their turn
constexpr std::uint64_t kRetryMs = 100;   // out of descriptors and no reserve left

int open_reserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

struct Listener::Block {
    uv_poll_t poll;
    uv_timer_t rest;               // kRetryMs pause when nothing can be accepted
    int fd = -1;                   // the listening socket (ours: uv_poll does not close it)
    int reserve = -1;              // spare descriptor given up to answer one connection
    OnConnection on_connection;
    std::string overload_reply = "421 4.3.2 Too many connections; try again later\r\n";
    SockName local;
    int open_handles = 2;          // poll + rest
    bool owner = true;             // a Listener still points here
    bool closing = false;          // uv_close() called
};

namespace {

using Block = Listener::Block;

void on_closed(uv_handle_t* h) {
    auto* b = static_cast<Block*>(h->data);
    if (--b->open_handles > 0) return;
    if (b->fd >= 0) ::close(b->fd);
    if (b->reserve >= 0) ::close(b->reserve);
    if (!b->owner) delete b;
    else b->fd = b->reserve = -1;
}

void close_block(Block* b) {
    if (b->closing) return;
    b->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&b->poll), on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&b->rest), on_closed);
}

void on_readable(uv_poll_t* p, int status, int events);

void on_rested(uv_timer_t* t) {
    auto* b = static_cast<Block*>(t->data);
    if (!b->closing) uv_poll_start(&b->poll, UV_READABLE, on_readable);
}

// Out of descriptors: give up the reserve to take one connection, tell it why we cannot serve
// it, and take the reserve back. Returns false when there was no reserve to give.
bool shed_one(Block* b) {
    if (b->reserve < 0) b->reserve = open_reserve();   // a descriptor may have come free
    if (b->reserve < 0) return false;
    ::close(b->reserve);
    b->reserve = -1;
    int c = ::accept4(b->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
        // A fresh socket's send buffer is empty: the short reply goes out whole or not at all.
        (void)!::send(c, b->overload_reply.data(), b->overload_reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::shutdown(c, SHUT_WR);
        ::close(c);
    }
    b->reserve = open_reserve();
    return c >= 0;
}

void on_readable(uv_poll_t* p, int status, int) {
    auto* b = static_cast<Block*>(p->data);
    if (b->closing || status < 0) return;
    for (int i = 0; i < kAcceptsPerWakeup && !b->closing; ++i) {
        int c = ::accept4(b->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if ((errno == EMFILE || errno == ENFILE) && shed_one(b)) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // Nothing can be accepted right now (no reserve either): rest instead of spinning.
                uv_poll_stop(&b->poll);
                uv_timer_start(&b->rest, on_rested, kRetryMs, 0);
            }
            return;
        }
        auto stream = TcpStream::adopt(p->loop, c);
        if (stream && b->on_connection) b->on_connection(std::move(stream));   // may close the Listener
    }
}

std::string describe(const std::string& address, std::uint16_t port) {
    return address.find(':') != std::string::npos ? fmt::format("[{}]:{}", address, port)
                                                  : fmt::format("{}:{}", address, port);
}

}  // namespace

int bind_listening_socket(const std::string& address, std::uint16_t port, bool reuseport, std::string& error) {
    sockaddr_storage ss{};
    int family = AF_INET;
    socklen_t len = sizeof(sockaddr_in);
    if (uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0) {
        family = AF_INET6;
        len = sizeof(sockaddr_in6);
        if (uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
            error = fmt::format("listen {}: not an IPv4 or IPv6 address", describe(address, port));
            return -1;
        }
    }
    const char* step = "socket";
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    bool ok = fd >= 0;
    // SO_REUSEADDR as libuv sets it: a restart may bind while old connections sit in TIME_WAIT.
    if (ok) ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
    if (ok && reuseport) {
        step = "SO_REUSEPORT";
        ok = ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0;
    }
    if (ok) {
        step = "bind";
        ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0;
    }
    if (ok) {
        step = "listen";
        ok = ::listen(fd, kBacklog) == 0;
    }
    if (!ok) {
        error = fmt::format("{} {}: {}", step, describe(address, port), uv_strerror(uv_translate_sys_error(errno)));
        if (fd >= 0) ::close(fd);
        return -1;
    }
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) return 0;
    return sock_name_of(reinterpret_cast<const sockaddr*>(&bound)).port;
}

std::unique_ptr<Listener> Listener::bind(uv_loop_t* loop, const std::string& address, std::uint16_t port,
                                         bool reuseport, OnConnection on_connection, std::string& error) {
    int fd = bind_listening_socket(address, port, reuseport, error);
    if (fd < 0) return nullptr;
    auto l = adopt(loop, fd, std::move(on_connection), error);
    if (!l) error = fmt::format("listen {}: {}", describe(address, port), error);
    return l;
}

std::unique_ptr<Listener> Listener::adopt(uv_loop_t* loop, int fd, OnConnection on_connection, std::string& error) {
    auto* b = new Block;
    b->fd = fd;
    b->reserve = open_reserve();
    b->on_connection = std::move(on_connection);
    b->poll.data = b;
    b->rest.data = b;
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0)
        b->local = sock_name_of(reinterpret_cast<const sockaddr*>(&bound));
    uv_timer_init(loop, &b->rest);
    if (int rc = uv_poll_init_socket(loop, &b->poll, fd); rc != 0) {
        error = uv_strerror(rc);
        b->open_handles = 1;   // only the timer was registered with the loop
        b->owner = false;
        b->closing = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&b->rest), on_closed);
        return nullptr;
    }
    uv_poll_start(&b->poll, UV_READABLE, on_readable);
    return std::unique_ptr<Listener>(new Listener(b));
}

Listener::~Listener() {
    block_->owner = false;
    if (block_->open_handles == 0) {
        delete block_;
        return;
    }
    close_block(block_);
}

void Listener::close() { close_block(block_); }

void Listener::set_overload_reply(std::string reply) { block_->overload_reply = std::move(reply); }

std::uint16_t Listener::port() const {
    if (block_->closing) return 0;
    return block_->local.port;
}

}  // namespace asmtpd::io
