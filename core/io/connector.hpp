// connector.hpp - outgoing connections on the loop (the next hop of a queue plugin), each
// ending as a Transport exactly like an accepted client connection.
//
// Addresses only: IP literals ("192.0.2.1", "::1", "[::1]") and "localhost" (127.0.0.1). Host
// names and MX hosts are resolved before, through the loop's resolver (core/client/next_hop,
// core/io/resolver): a blocking getaddrinfo() here would stall every session of the worker.
// Unix-domain sockets take a filesystem path.
// Rules: the callback runs exactly once, always from a loop callback (never inside
// connect_*), unless the returned Connecting is destroyed first: then it never runs and the
// attempt is abandoned. Every attempt has a deadline. Ownership: the Connecting object owns
// the attempt; its libuv handles live in a block freed by the last close callback.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "core/io/stream.hpp"

namespace asmtpd::io {

// stream is null on failure; error is then a one-line reason ("connect to 127.0.0.1:25:
// connection refused", "... timed out after 10000 ms").
using ConnectCallback = std::function<void(std::unique_ptr<Transport> stream, std::string error)>;

class Connecting {
public:
    ~Connecting();   // cancels an attempt still in progress: the callback never runs
    Connecting(const Connecting&) = delete;
    Connecting& operator=(const Connecting&) = delete;

    struct Block;   // libuv-owned part (public only for the C callbacks in connector.cpp)
    explicit Connecting(Block* b) : block_(b) {}

private:
    Block* block_;
};

std::unique_ptr<Connecting> connect_tcp(uv_loop_t* loop, std::string_view host, std::uint16_t port,
                                        std::uint64_t timeout_ms, ConnectCallback cb);
std::unique_ptr<Connecting> connect_unix(uv_loop_t* loop, std::string_view path, std::uint64_t timeout_ms,
                                         ConnectCallback cb);

// host (IPv4 or IPv6 literal, optionally in brackets, or "localhost") and port as a sockaddr;
// false for anything else (names that would need DNS).
bool literal_address(std::string_view host, std::uint16_t port, sockaddr_storage& out);

}  // namespace asmtpd::io
