// scanner_peer.hpp - a stand-in for a content scanner daemon (spamd, clamd) on loopback, on the
// test's own loop: it records every byte of the request and, once `complete(received)` holds,
// answers `reply` and closes. It lets the tests replay what the real daemons answered (captured
// from spamd 4.0.1 and clamd 1.4.6) and what they never would (garbage, silence, floods); the
// real daemons run in t/e2e/test_spamassassin.py and test_clamdscan.py.
// one_shot closes the listening socket at the first connection, so a loop run "until idle"
// (FakeContext::run) ends once the exchange is over. never: keep the connection open silently;
// keep_open: answer but leave the connection open (the client must see the reply is whole).
// Header-only on purpose: t/support is not globbed by CMake.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "core/client/next_hop.hpp"
#include "core/io/listener.hpp"
#include "core/io/stream.hpp"

namespace asmtpd::test {

class ScannerPeer final : public io::StreamListener {
public:
    std::function<bool(const std::string&)> complete;
    std::string reply = "R";
    bool never = false;
    bool one_shot = false;
    bool keep_open = false;   // answer, but keep the connection (an HTTP keep-alive server)
    std::string received;
    int connections = 0;

    explicit ScannerPeer(uv_loop_t* loop) {
        std::string error;
        listener_ = io::Listener::bind(loop, "127.0.0.1", 0, false, [this](std::unique_ptr<io::TcpStream> s) {
            ++connections;
            stream_ = std::move(s);
            REQUIRE(stream_);
            stream_->set_listener(this);
            if (one_shot) listener_->close();
        }, error);
        REQUIRE_MESSAGE(listener_, error);
        port_ = listener_->port();
    }
    ~ScannerPeer() override { close(); }
    void close() {
        if (listener_) listener_->close();
        if (stream_) stream_->close_now();
    }
    client::NextHop target() const {
        client::NextHop h;
        h.host = "127.0.0.1";
        h.port = port_;
        return h;
    }
    std::string hop() const { return "127.0.0.1:" + std::to_string(port_); }

    void on_read(std::string_view bytes) override {
        received.append(bytes);
        if (answered_ || never || !complete || !complete(received)) return;
        answered_ = true;
        if (!reply.empty()) stream_->write(reply);
        if (!keep_open) stream_->close_after_flush();
    }
    void on_eof() override {
        if (stream_ && !answered_) stream_->close_now();
    }

    // The end of a SPAMC request: the head's Content-length octets after its empty line.
    static bool spamc_complete(const std::string& got) {
        const auto end = got.find("\r\n\r\n");
        const auto cl = got.find("Content-length: ");
        if (end == std::string::npos || cl == std::string::npos) return false;
        return got.size() >= end + 4 + std::stoul(got.substr(cl + 16));
    }
    // The end of a zINSTREAM request: the zero-length chunk.
    static bool instream_complete(const std::string& got) {
        return got.size() >= 14 && got.compare(got.size() - 4, 4, std::string(4, '\0')) == 0;
    }

private:
    std::unique_ptr<io::Listener> listener_;
    std::unique_ptr<io::TcpStream> stream_;
    std::uint16_t port_ = 0;
    bool answered_ = false;
};

}  // namespace asmtpd::test
