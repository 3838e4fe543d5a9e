// connector.cpp - uv_tcp_connect / uv_pipe_connect with a deadline, handing the connected
// socket to TcpStream::adopt().
//
// Why a dup: the connect runs on a handle of our own (TcpStream's block is private to
// stream.cpp, and a Unix-domain socket needs a uv_pipe_t). Once connected, the socket is
// dup'ed, our handle is closed (libuv removes its fd from epoll before closing it), and the
// duplicate becomes the TcpStream. The peer sees one connection and no FIN.
// Must never: run the callback twice, after the Connecting is gone, or from inside connect_*;
// free the block while a handle or the connect request still refers to it.
#include "core/io/connector.hpp"

#include <fcntl.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

namespace asmtpd::io {

struct Connecting::Block {
    uv_loop_t* loop = nullptr;
    uv_tcp_t tcp{};
    uv_pipe_t pipe{};
    uv_connect_t req{};
    uv_timer_t timer{};
    bool use_pipe = false;
    bool stream_open = false;   // tcp or pipe was initialised
    int open_handles = 0;
    bool owner = true;          // a Connecting still points here
    bool settled = false;       // the outcome is decided (callback called or never to be)
    bool closing = false;
    std::uint64_t timeout_ms = 0;
    std::string what;           // "127.0.0.1:25" or "unix:/path", for messages
    std::string early_error;    // a failure found before any I/O, reported from the timer
    ConnectCallback cb;

    uv_handle_t* stream_handle() {
        return use_pipe ? reinterpret_cast<uv_handle_t*>(&pipe) : reinterpret_cast<uv_handle_t*>(&tcp);
    }
};

namespace {

using Block = Connecting::Block;

void on_closed(uv_handle_t* h) {
    auto* b = static_cast<Block*>(h->data);
    if (--b->open_handles == 0 && !b->owner) delete b;
}

void close_all(Block* b) {
    if (b->closing) return;
    b->closing = true;
    uv_timer_stop(&b->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&b->timer), on_closed);
    if (b->stream_open) uv_close(b->stream_handle(), on_closed);
}

// Decides the outcome once: closes our handles first, then calls back (the callback may
// destroy the Connecting; the block survives until the close callbacks).
void settle(Block* b, std::unique_ptr<Transport> stream, std::string error) {
    if (b->settled) return;
    b->settled = true;
    close_all(b);
    ConnectCallback cb = std::move(b->cb);
    b->cb = nullptr;
    if (b->owner && cb) cb(std::move(stream), std::move(error));
}

void on_timer(uv_timer_t* t) {
    auto* b = static_cast<Block*>(t->data);
    if (!b->early_error.empty()) {
        settle(b, nullptr, std::move(b->early_error));
        return;
    }
    settle(b, nullptr, fmt::format("connect to {}: timed out after {} ms", b->what, b->timeout_ms));
}

void on_connect(uv_connect_t* req, int status) {
    auto* b = static_cast<Block*>(req->data);
    if (b->settled) return;   // timed out or cancelled: this is UV_ECANCELED from close_all
    if (status < 0) {
        settle(b, nullptr, fmt::format("connect to {}: {}", b->what, uv_strerror(status)));
        return;
    }
    uv_os_fd_t fd = -1;
    int copy = -1;
    if (uv_fileno(b->stream_handle(), &fd) == 0) copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        settle(b, nullptr, fmt::format("connect to {}: cannot take over the socket", b->what));
        return;
    }
    // Our handle must be closed (its fd out of epoll) before the copy is registered.
    close_all(b);
    auto stream = TcpStream::adopt(b->loop, copy);
    if (!stream) {
        settle(b, nullptr, fmt::format("connect to {}: cannot set up the stream", b->what));
        return;
    }
    settle(b, std::move(stream), {});
}

Block* start_block(uv_loop_t* loop, std::uint64_t timeout_ms, std::string what, ConnectCallback cb) {
    auto* b = new Block;
    b->loop = loop;
    b->timeout_ms = timeout_ms;
    b->what = std::move(what);
    b->cb = std::move(cb);
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    b->open_handles = 1;
    b->req.data = b;
    return b;
}

// Reports err from the next loop iteration (the callback never runs inside connect_*).
std::unique_ptr<Connecting> fail_soon(Block* b, std::string err) {
    b->early_error = std::move(err);
    uv_timer_start(&b->timer, on_timer, 0, 0);
    return std::make_unique<Connecting>(b);
}

}  // namespace

Connecting::~Connecting() {
    Block* b = block_;
    b->owner = false;
    b->cb = nullptr;
    b->settled = true;
    if (b->open_handles == 0) {
        delete b;
        return;
    }
    close_all(b);
}

bool literal_address(std::string_view host, std::uint16_t port, sockaddr_storage& out) {
    out = sockaddr_storage{};
    if (host == "localhost") host = "127.0.0.1";
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || host.size() > 64) return false;
    const std::string text(host);
    if (uv_ip4_addr(text.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0) return true;
    out = sockaddr_storage{};
    return uv_ip6_addr(text.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0 &&
           text.find(':') != std::string::npos;
}

std::unique_ptr<Connecting> connect_tcp(uv_loop_t* loop, std::string_view host, std::uint16_t port,
                                        std::uint64_t timeout_ms, ConnectCallback cb) {
    std::string what = !host.empty() && host.find(':') != std::string_view::npos && host.front() != '['
                           ? fmt::format("[{}]:{}", host, port)
                           : fmt::format("{}:{}", host, port);
    Block* b = start_block(loop, timeout_ms, what, std::move(cb));
    sockaddr_storage addr{};
    if (!literal_address(host, port, addr))
        return fail_soon(b, fmt::format("connect to {}: not an IP address (no DNS resolver yet)", what));
    if (port == 0) return fail_soon(b, fmt::format("connect to {}: port 0", what));
    uv_tcp_init(loop, &b->tcp);
    b->tcp.data = b;
    b->stream_open = true;
    ++b->open_handles;
    int rc = uv_tcp_connect(&b->req, &b->tcp, reinterpret_cast<const sockaddr*>(&addr), on_connect);
    if (rc != 0) return fail_soon(b, fmt::format("connect to {}: {}", what, uv_strerror(rc)));
    uv_timer_start(&b->timer, on_timer, timeout_ms, 0);
    return std::make_unique<Connecting>(b);
}

std::unique_ptr<Connecting> connect_unix(uv_loop_t* loop, std::string_view path, std::uint64_t timeout_ms,
                                         ConnectCallback cb) {
    Block* b = start_block(loop, timeout_ms, "unix:" + std::string(path), std::move(cb));
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path) || path.find('\0') != std::string_view::npos)
        return fail_soon(b, fmt::format("connect to {}: bad socket path (empty or over {} octets)", b->what,
                                        sizeof(sockaddr_un{}.sun_path) - 1));
    b->use_pipe = true;
    uv_pipe_init(loop, &b->pipe, 0);
    b->pipe.data = b;
    b->stream_open = true;
    ++b->open_handles;
    const std::string name(path);
    uv_pipe_connect(&b->req, &b->pipe, name.c_str(), on_connect);   // errors arrive in on_connect
    uv_timer_start(&b->timer, on_timer, timeout_ms, 0);
    return std::make_unique<Connecting>(b);
}

}  // namespace asmtpd::io
