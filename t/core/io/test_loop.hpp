// test_loop.hpp - a private libuv loop for one io test, plus a loopback client.
//
// Must never: let a test hang (every wait has a deadline) or pass with handles left open: the
// destructor drains the loop and checks that uv_loop_close succeeds, so a leaked handle fails the
// test (and ASan catches leaked blocks). Ownership: TestLoop owns its loop; a TestClient must be
// destroyed before the TestLoop it was made on (declare it after).
#pragma once

#include <doctest/doctest.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/io/signals.hpp"

namespace asmtpd::io::test {

class TestLoop {
public:
    TestLoop() {
        ignore_sigpipe();
        uv_loop_init(&loop_);
        uv_timer_init(&loop_, &tick_);
        uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
    }
    ~TestLoop() {
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
        // Whatever the test closed must finish closing within a bounded number of turns.
        for (int i = 0; i < 1000 && uv_loop_alive(&loop_); ++i) uv_run(&loop_, UV_RUN_NOWAIT);
        uv_run(&loop_, UV_RUN_NOWAIT);
        int rc = uv_loop_close(&loop_);
        CHECK_MESSAGE(rc == 0, "handles left open on the test loop");
        if (rc != 0) {
            uv_walk(&loop_, [](uv_handle_t* h, void*) {
                MESSAGE("open handle type ", uv_handle_type_name(uv_handle_get_type(h)));
            }, nullptr);
        }
    }
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;

    uv_loop_t* get() { return &loop_; }

    // Runs the loop until pred() holds or timeout_ms passes; returns pred().
    bool run_until(const std::function<bool()>& pred, std::uint64_t timeout_ms = 5000) {
        uv_timer_start(&tick_, [](uv_timer_t*) {}, 5, 5);   // wakes UV_RUN_ONCE so we can re-check
        uv_update_time(&loop_);
        const std::uint64_t deadline = uv_now(&loop_) + timeout_ms;
        while (!pred() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
        uv_timer_stop(&tick_);
        return pred();
    }
    void run_for(std::uint64_t ms) {
        run_until([] { return false; }, ms);
    }

private:
    uv_loop_t loop_;
    uv_timer_t tick_;
};

// A plain libuv TCP client on the same loop: connects, reads (when asked) into a string, writes.
class TestClient {
public:
    TestClient(uv_loop_t* loop, std::uint16_t port, const char* ip = "127.0.0.1", bool read = true)
        : loop_(loop), read_(read) {
        uv_tcp_init(loop, &tcp_);
        tcp_.data = this;
        conn_.data = this;
        sockaddr_storage ss{};
        if (uv_ip4_addr(ip, port, reinterpret_cast<sockaddr_in*>(&ss)) != 0)
            uv_ip6_addr(ip, port, reinterpret_cast<sockaddr_in6*>(&ss));
        uv_tcp_connect(&conn_, &tcp_, reinterpret_cast<const sockaddr*>(&ss), [](uv_connect_t* c, int status) {
            auto* self = static_cast<TestClient*>(c->data);
            self->connect_status = status;
            self->connected = status == 0;
            if (self->connected && self->read_) self->start_reading();
        });
    }
    ~TestClient() {
        close();
        while (!closed_) uv_run(loop_, UV_RUN_ONCE);
    }
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    void start_reading() {
        read_ = true;
        if (!connected) return;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_),
                      [](uv_handle_t* h, std::size_t, uv_buf_t* b) {
                          auto* self = static_cast<TestClient*>(h->data);
                          *b = uv_buf_init(self->buf_, sizeof self->buf_);
                      },
                      [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
                          auto* self = static_cast<TestClient*>(s->data);
                          if (n > 0) self->received.append(self->buf_, static_cast<std::size_t>(n));
                          else if (n == UV_EOF) self->eof = true;
                          else if (n < 0) self->read_error = static_cast<int>(n);
                          if (n < 0) uv_read_stop(s);
                      });
    }
    void stop_reading() {
        read_ = false;
        uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    }
    // Small writes only: they must fit the socket buffer at once.
    void send(const std::string& s) {
        uv_buf_t b = uv_buf_init(const_cast<char*>(s.data()), static_cast<unsigned>(s.size()));
        int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
        REQUIRE(n == static_cast<int>(s.size()));
    }
    void close() {
        if (closing_) return;
        closing_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) { static_cast<TestClient*>(h->data)->closed_ = true; });
    }
    // RST instead of FIN.
    void reset() {
        if (closing_) return;
        closing_ = true;
        uv_tcp_close_reset(&tcp_, [](uv_handle_t* h) { static_cast<TestClient*>(h->data)->closed_ = true; });
    }
    std::uint16_t local_port() const {
        sockaddr_storage ss{};
        int len = sizeof ss;
        uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len);
        return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);   // same offset for v6
    }
    bool finished() const { return eof || read_error != 0; }

    bool connected = false;
    int connect_status = 1;   // 1: pending
    bool eof = false;
    int read_error = 0;
    std::string received;

private:
    uv_loop_t* loop_;
    uv_tcp_t tcp_;
    uv_connect_t conn_;
    bool read_;
    bool closing_ = false;
    bool closed_ = false;
    char buf_[65536];
};

// Deterministic, position-dependent bytes, so reordering or loss shows up in a comparison.
inline std::string pattern(std::size_t n, unsigned seed = 1) {
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        s[i] = static_cast<char>(x >> 24);
    }
    return s;
}

}  // namespace asmtpd::io::test
