// listener.hpp - a listening TCP socket (IPv4 or IPv6) that accepts connections and hands each
// one, as a TcpStream, to its owner's callback.
//
// Rules: the libuv handles live in a heap block freed only in the close callbacks, so the
// Listener may be closed or destroyed from inside its own callback. With reuseport, SO_REUSEPORT
// is set before bind so several workers (one loop each) share a port and the kernel spreads
// connections between them. When the process is out of file descriptors, a reserve descriptor
// is given up for a moment so each waiting connection gets the overload reply and a clean close
// instead of silence.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "core/io/stream.hpp"

namespace asmtpd::io {

class Listener {
public:
    using OnConnection = std::function<void(std::unique_ptr<TcpStream> stream)>;

    // address: a literal IPv4 or IPv6 address ("0.0.0.0", "::", "::1"); port 0 picks a free port.
    // Null on failure, with a one-line reason in error ("bind 127.0.0.1:25: address already in use").
    static std::unique_ptr<Listener> bind(uv_loop_t* loop, const std::string& address, std::uint16_t port,
                                          bool reuseport, OnConnection on_connection, std::string& error);
    // Watches a socket that is already bound and listening (bind_listening_socket, perhaps before
    // a privilege drop). The Listener owns fd from here on, also when this fails (null, error).
    static std::unique_ptr<Listener> adopt(uv_loop_t* loop, int fd, OnConnection on_connection, std::string& error);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Stops accepting; idempotent. No callback runs afterwards.
    void close();
    // What a connection gets when it cannot be served for lack of descriptors (a full reply
    // line with its CRLF).
    void set_overload_reply(std::string reply);
    // The port actually bound (useful with port 0); 0 after close().
    std::uint16_t port() const;

    struct Block;   // libuv-owned part (public only for the C callbacks in listener.cpp)

private:
    explicit Listener(Block* b) : block_(b) {}
    Block* block_;
};

// socket, SO_REUSEADDR (and SO_REUSEPORT), bind, listen: a non-blocking close-on-exec listening
// socket, or -1 with the reason in error. No loop needed, so the daemon can bind its ports as
// root and serve them after dropping to its user (core/smtp/privileges.hpp).
int bind_listening_socket(const std::string& address, std::uint16_t port, bool reuseport, std::string& error);
// The port a bound socket got (what port 0 picked); 0 when it cannot be read.
std::uint16_t bound_port(int fd);

}  // namespace asmtpd::io
