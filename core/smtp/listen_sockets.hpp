// listen_sockets.hpp - every listening socket of every worker, bound once by the supervisor
// before the privilege drop, so ports below 1024 are served by processes that are not root and
// a worker restarted after a crash gets its sockets back without binding anything.
//
// With workers > 1 each worker has its own socket per listener, all on one port through
// SO_REUSEPORT (the kernel spreads connections between them, as before). A listener with port 0
// binds its first socket to a free port and the others to that same port. SO_REUSEPORT is
// shared only among our own sockets: a port some other process holds is "address already in
// use", as with one worker.
//
// Ownership: the fds are this object's until take() hands one worker's set to a Listener
// (Listener::adopt owns them from then on); release() closes what is left. The supervisor calls
// release() when it stops, so that once the workers close theirs the ports refuse connections
// instead of queueing them where nobody will accept.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/smtp/settings.hpp"

namespace asmtpd::smtp {

class ListenSockets {
public:
    // Null with the reason ("bind 127.0.0.1:25: address already in use") when a socket fails.
    static std::optional<ListenSockets> bind(const std::vector<ListenSpec>& listen, unsigned workers,
                                             std::string& error);
    ListenSockets(ListenSockets&& other) noexcept : fds_(std::move(other.fds_)) { other.fds_.clear(); }
    ListenSockets& operator=(ListenSockets&& other) noexcept {
        if (this != &other) {
            release();
            fds_ = std::move(other.fds_);
            other.fds_.clear();
        }
        return *this;
    }
    ListenSockets(const ListenSockets&) = delete;
    ListenSockets& operator=(const ListenSockets&) = delete;
    ~ListenSockets() { release(); }

    // Worker `index`'s sockets, one per listener in asmtpd.yaml order; the caller owns them. Every
    // other worker's sockets are closed in this process (a worker serves only its own).
    std::vector<int> take(unsigned index);
    void release();

private:
    ListenSockets() = default;
    std::vector<std::vector<int>> fds_;   // [worker][listener]; -1 once taken or closed
};

}  // namespace asmtpd::smtp
