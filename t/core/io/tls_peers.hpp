// tls_peers.hpp - the two ends of the TLS tests (tls_data, tls_verify, tls_hostile,
// tls_lifetime, tls_s_client): listeners that record what a TlsTransport delivers, a loopback
// TLS server (its first accepted connection wrapped as a server TlsTransport), a client
// TlsTransport over io::connect_tcp, and a client's first flight (ClientHello) as bytes.
//
// Must never: wait without a deadline (handshake() runs the loop through TestLoop::run_until).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/io/connector.hpp"
#include "core/io/listener.hpp"
#include "core/io/tls.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"

namespace asmtpd::io::test::tls_peers {

struct Recorder : StreamListener {
    std::string data;
    int reads = 0, eofs = 0, drains = 0;
    std::function<void(std::string_view)> on_read_hook;
    std::function<void()> on_eof_hook;
    void on_read(std::string_view b) override {
        ++reads;
        data.append(b);
        if (on_read_hook) on_read_hook(b);
    }
    void on_eof() override {
        ++eofs;
        if (on_eof_hook) on_eof_hook();
    }
    void on_drained() override { ++drains; }
};

struct Handshake {
    int calls = 0;
    bool ok = false;
    std::string error;
    std::function<void()> hook;
};

inline TlsTransport::HandshakeCallback record(Handshake& h) {
    return [&h](bool ok, std::string error) {
        ++h.calls;
        h.ok = ok;
        h.error = std::move(error);
        if (h.hook) h.hook();
    };
}

// A loopback listener whose first accepted connection is wrapped as a TLS server.
struct TlsServer {
    TestLoop& loop;
    std::shared_ptr<TlsContext> ctx;
    std::unique_ptr<Listener> listener;
    std::unique_ptr<TlsTransport> tls;
    Handshake hs;

    TlsServer(TestLoop& l, std::shared_ptr<TlsContext> c) : loop(l), ctx(std::move(c)) {
        std::string error;
        listener = Listener::bind(loop.get(), "127.0.0.1", 0, false, [this](std::unique_ptr<TcpStream> s_stream) {
            auto tcp = std::move(s_stream);
            REQUIRE(tcp != nullptr);
            tls = std::make_unique<TlsTransport>(loop.get(), std::move(tcp), ctx, TlsRole::Server, record(hs));
        }, error);
        REQUIRE_MESSAGE(listener != nullptr, error);
    }
    std::uint16_t port() const { return listener->port(); }
};

// A client TlsTransport over io::connect_tcp.
struct TlsClient {
    std::unique_ptr<Connecting> attempt;
    std::unique_ptr<TlsTransport> tls;
    Handshake hs;
    std::string connect_error;

    TlsClient(TestLoop& loop, std::uint16_t port, std::shared_ptr<TlsContext> ctx, std::string server_name = "localhost") {
        attempt = connect_tcp(loop.get(), "127.0.0.1", port, 2000,
                              [this, &loop, ctx, server_name](std::unique_ptr<Transport> s, std::string e) {
                                  connect_error = e;
                                  if (!s) return;
                                  tls = std::make_unique<TlsTransport>(loop.get(), std::move(s), ctx, TlsRole::Client,
                                                                       record(hs), server_name);
                              });
    }
};

// Runs both handshakes to the end.
inline void handshake(TestLoop& loop, TlsServer& server, TlsClient& client) {
    REQUIRE(loop.run_until([&] { return server.hs.calls > 0 && client.hs.calls > 0; }));
    REQUIRE_MESSAGE(server.hs.ok, server.hs.error);
    REQUIRE_MESSAGE(client.hs.ok, client.hs.error);
}

// Collects a client's first flight (ClientHello) by running a client TlsTransport over a
// transport that only records what is written.
struct CaptureTransport : Transport {
    std::string* out;
    explicit CaptureTransport(std::string* o) : out(o) {}
    void set_listener(StreamListener*) override {}
    void write(std::string b) override { out->append(b); }
    std::size_t queued_bytes() const override { return 0; }
    void pause_reading() override {}
    void resume_reading() override {}
    void close_after_flush() override {}
    void close_now() override {}
    bool closed() const override { return false; }
};

inline std::string client_hello(TestLoop& loop) {
    std::string hello;
    Handshake hs;
    {
        TlsTransport t(loop.get(), std::make_unique<CaptureTransport>(&hello), client_ctx(), TlsRole::Client,
                       record(hs), "localhost");
    }
    CHECK(hs.calls == 0);
    return hello;
}

}  // namespace asmtpd::io::test::tls_peers
