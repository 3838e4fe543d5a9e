// ares_channel.hpp - one c-ares channel driven by a libuv loop: c-ares' sockets are watched
// with uv_poll, its retransmission timeouts run on a uv timer. Nothing here blocks: c-ares
// reads /etc/resolv.conf once, when the channel is made (at worker start-up, before sessions).
//
// Rules: query() hands c-ares one question; the callback runs exactly once, from a loop
// callback, or synchronously inside query() when c-ares fails at once (the caller must cope),
// or with ARES_EDESTRUCTION from the destructor. Ownership: the channel owns the poll handles
// (heap blocks freed in their close callbacks) and the timer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ares.h>
#include <uv.h>

#include "core/io/timer.hpp"

namespace asmtpd::io {

// "192.0.2.53", "192.0.2.53:5353", "::1", "[::1]:5353" as c-ares' "host:port" csv item
// ("[::1]:5353", "192.0.2.53:53"); nullopt for anything else (names need DNS themselves).
std::optional<std::string> dns_server_item(std::string_view text);

struct AresOptions {
    std::vector<std::string> servers;   // dns_server_item() forms; empty: /etc/resolv.conf
    std::uint32_t timeout_ms = 5000;    // first attempt; c-ares doubles it per round of servers
    int attempts = 2;                   // rounds over the server list
};

// (arg, status, timeouts, abuf, alen): c-ares' own callback type.
using AresCallback = ares_callback;

class AresChannel {
public:
    // error is set (and ok() false) when c-ares refuses the options or the servers.
    AresChannel(uv_loop_t* loop, const AresOptions& options, std::string& error);
    ~AresChannel();
    AresChannel(const AresChannel&) = delete;
    AresChannel& operator=(const AresChannel&) = delete;

    bool ok() const { return channel_ != nullptr; }
    void query(const std::string& name, int type, AresCallback cb, void* arg);

private:
    struct Watch;
    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
    static void on_poll(uv_poll_t* handle, int status, int events);
    void rearm();
    void close_watch(ares_socket_t fd);

    uv_loop_t* loop_;
    ares_channel channel_ = nullptr;
    std::unordered_map<ares_socket_t, Watch*> watches_;   // closed (not freed) on removal
    Timer timer_;
};

}  // namespace asmtpd::io
