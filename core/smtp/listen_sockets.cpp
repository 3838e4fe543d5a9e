// listen_sockets.cpp - see listen_sockets.hpp. Runs before the loop (blocking is fine).
#include "core/smtp/listen_sockets.hpp"

#include <unistd.h>

#include "core/io/listener.hpp"

namespace asmtpd::smtp {

std::optional<ListenSockets> ListenSockets::bind(const std::vector<ListenSpec>& listen, unsigned workers,
                                                 std::string& error) {
    ListenSockets out;
    const unsigned count = workers == 0 ? 1 : workers;
    out.fds_.assign(count, std::vector<int>(listen.size(), -1));
    for (std::size_t l = 0; l < listen.size(); ++l) {
        std::uint16_t port = listen[l].port;
        if (count > 1 && port != 0) {
            // SO_REUSEPORT would let us join a port that another process (a second asmtpd,
            // say) already serves, and the kernel would split the connections between us. A
            // plain bind first fails with "address already in use" if anyone holds the port.
            int probe = io::bind_listening_socket(listen[l].address, port, false, error);
            if (probe < 0) return std::nullopt;
            ::close(probe);
        }
        for (unsigned w = 0; w < count; ++w) {
            int fd = io::bind_listening_socket(listen[l].address, port, count > 1, error);
            if (fd < 0) return std::nullopt;   // out's destructor closes what was bound
            out.fds_[w][l] = fd;
            if (port == 0) port = io::bound_port(fd);
        }
    }
    return out;
}

std::vector<int> ListenSockets::take(unsigned index) {
    std::vector<int> mine;
    for (unsigned w = 0; w < fds_.size(); ++w) {
        for (int& fd : fds_[w]) {
            if (w == index) mine.push_back(fd);
            else if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }
    return mine;
}

void ListenSockets::release() {
    for (auto& worker : fds_)
        for (int& fd : worker) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
}

}  // namespace asmtpd::smtp
