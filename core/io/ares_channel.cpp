// ares_channel.cpp - c-ares on libuv: socket state callback -> uv_poll, ares_timeout -> Timer.
//
// Must never: let a uv_poll outlive c-ares' socket (c-ares reports readable=writable=0 before
// it closes a socket, and the poll is closed right then), or free a Watch before libuv's close
// callback. Ownership: a Watch belongs to watches_ until close_watch(), then to libuv.
#include "core/io/ares_channel.hpp"

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace asmtpd::io {

struct AresChannel::Watch {
    uv_poll_t poll;
    AresChannel* owner;
    ares_socket_t fd;
};

namespace {

bool is_ip(std::string_view s, int family) {
    if (s.empty() || s.size() >= 64) return false;
    char buf[64];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    unsigned char out[16];
    return inet_pton(family, buf, out) == 1;
}

bool port_ok(std::string_view s) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v >= 1 && v <= 65535;
}

}  // namespace

std::optional<std::string> dns_server_item(std::string_view t) {
    if (is_ip(t, AF_INET)) return std::string(t) + ":53";
    if (is_ip(t, AF_INET6)) return "[" + std::string(t) + "]:53";
    if (!t.empty() && t.front() == '[') {
        auto close = t.find(']');
        if (close == std::string_view::npos || !is_ip(t.substr(1, close - 1), AF_INET6)) return std::nullopt;
        auto rest = t.substr(close + 1);
        if (rest.empty()) return std::string(t) + ":53";
        if (rest.front() != ':' || !port_ok(rest.substr(1))) return std::nullopt;
        return std::string(t);
    }
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos || !is_ip(t.substr(0, colon), AF_INET) || !port_ok(t.substr(colon + 1)))
        return std::nullopt;
    return std::string(t);
}

AresChannel::AresChannel(uv_loop_t* loop, const AresOptions& o, std::string& error) : loop_(loop), timer_(loop) {
    ares_options opts{};
    opts.sock_state_cb = &AresChannel::on_sock_state;
    opts.sock_state_cb_data = this;
    opts.timeout = static_cast<int>(o.timeout_ms);
    opts.tries = o.attempts;
    // NOSEARCH: names are always absolute here (no search list, no ndots games).
    opts.flags = ARES_FLAG_NOSEARCH;
    const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    ares_channel ch = nullptr;
    if (int rc = ares_init_options(&ch, &opts, mask); rc != ARES_SUCCESS) {
        error = std::string("c-ares: ") + ares_strerror(rc);
        return;
    }
    if (!o.servers.empty()) {
        std::string csv;
        for (const auto& s : o.servers) csv += (csv.empty() ? "" : ",") + s;
        if (int rc = ares_set_servers_ports_csv(ch, csv.c_str()); rc != ARES_SUCCESS) {
            error = "dns.servers: " + std::string(ares_strerror(rc));
            ares_destroy(ch);
            return;
        }
    }
    channel_ = ch;
}

AresChannel::~AresChannel() {
    if (channel_) {
        // Ends every query with ARES_EDESTRUCTION and reports each socket closed (on_sock_state).
        ares_destroy(channel_);
        channel_ = nullptr;
    }
    while (!watches_.empty()) close_watch(watches_.begin()->first);
}

void AresChannel::query(const std::string& name, int type, AresCallback cb, void* arg) {
    ares_query(channel_, name.c_str(), 1 /* class IN */, type, cb, arg);
    rearm();
}

void AresChannel::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<AresChannel*>(data);
    if (!readable && !writable) {
        self->close_watch(fd);
        return;
    }
    Watch*& w = self->watches_[fd];
    if (!w) {
        w = new Watch{{}, self, fd};
        uv_poll_init_socket(self->loop_, &w->poll, fd);
        w->poll.data = w;
    }
    uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), &AresChannel::on_poll);
}

void AresChannel::on_poll(uv_poll_t* handle, int status, int events) {
    auto* w = static_cast<Watch*>(handle->data);
    AresChannel* self = w->owner;
    const ares_socket_t fd = w->fd;   // w may be closed inside ares_process_fd
    // On a poll error let c-ares try both directions: it then sees the socket's error itself.
    const bool rd = status < 0 || (events & UV_READABLE);
    const bool wr = status < 0 || (events & UV_WRITABLE);
    ares_process_fd(self->channel_, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    self->rearm();
}

void AresChannel::close_watch(ares_socket_t fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    Watch* w = it->second;
    watches_.erase(it);
    uv_poll_stop(&w->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
}

void AresChannel::rearm() {
    if (!channel_) return;
    timeval tv{};
    if (!ares_timeout(channel_, nullptr, &tv)) {
        timer_.stop();
        return;
    }
    // Rounded up: firing a millisecond early would find nothing due and spin.
    const std::uint64_t ms = static_cast<std::uint64_t>(tv.tv_sec) * 1000 + (static_cast<std::uint64_t>(tv.tv_usec) + 999) / 1000;
    timer_.start(ms, [this] {
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        rearm();
    });
}

}  // namespace asmtpd::io
