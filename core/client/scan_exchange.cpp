// scan_exchange.cpp - one exchange with a content scanner (see scan_exchange.hpp).
//
// Must never: call done twice or from inside run_scan, read the next spool piece while more
// than kLowWater bytes wait in the socket's queue, buffer more than max_reply octets of reply,
// or outlive its deadline. A spool read completes either inside pump() (memory spool, settled
// file) or later from libuv; both land in chunk_, and only the outermost pump() loops (the
// shape of smtp_client_body.cpp).
#include "core/client/scan_exchange.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "core/io/connector.hpp"
#include "core/io/stream.hpp"
#include "core/io/timer.hpp"
#include "core/io/tls.hpp"

namespace asmtpd::client {

namespace {

constexpr std::size_t kChunk = 64 * 1024;      // one spool read
constexpr std::size_t kLowWater = 64 * 1024;   // read the next piece when less is queued

std::string length_prefix(std::size_t n) {
    std::string out(4, '\0');
    out[0] = static_cast<char>((n >> 24) & 0xff);
    out[1] = static_cast<char>((n >> 16) & 0xff);
    out[2] = static_cast<char>((n >> 8) & 0xff);
    out[3] = static_cast<char>(n & 0xff);
    return out;
}

class Exchange final : public io::StreamListener, public std::enable_shared_from_this<Exchange> {
public:
    Exchange(const io::Reactor& reactor, ScanRequest req, std::function<void(ScanOutcome)> done)
        : reactor_(reactor), req_(std::move(req)), done_(std::move(done)), timer_(reactor.native()),
          started_ms_(reactor.now_ms()), offset_(req_.body_offset) {}

    void start() {
        self_ = shared_from_this();
        std::weak_ptr<Exchange> weak = self_;
        timer_.start(req_.total_ms, [weak] {
            if (auto me = weak.lock()) {
                me->timed_out_ = true;
                me->finish(fmt::format("no answer within {} ms", me->req_.total_ms));
            }
        });
        auto on_connect = [weak](std::unique_ptr<io::Transport> t, std::string error) {
            if (auto me = weak.lock()) me->on_connected(std::move(t), std::move(error));
        };
        const auto connect_ms = std::min(req_.connect_ms, req_.total_ms);
        uv_loop_t* loop = reactor_.native();
        connecting_ = req_.target.unix_socket
                          ? io::connect_unix(loop, req_.target.path, connect_ms, on_connect)
                          : io::connect_tcp(loop, req_.target.host, req_.target.port, connect_ms, on_connect);
    }

    void on_read(std::string_view bytes) override {
        if (reply_.size() + bytes.size() > req_.max_reply) {
            finish(fmt::format("reply over {} octets", req_.max_reply));
            return;
        }
        reply_.append(bytes);
        if (req_.reply_complete && req_.reply_complete(reply_)) finish({});
    }

    void on_eof() override {
        if (reply_.empty())
            finish(sent_all_ ? "closed without a reply" : "closed before the message was sent");
        else
            finish({});   // a scanner may answer early (clamd's size limit); the reply says why
    }

    void on_drained() override { pump(); }

private:
    void on_connected(std::unique_ptr<io::Transport> t, std::string error) {
        connecting_.reset();
        if (!t) {
            finish(error.empty() ? "connect failed" : std::move(error));
            return;
        }
        if (req_.tls) {
            // Writes queue until the handshake is done; a failed one ends the exchange.
            std::weak_ptr<Exchange> weak = self_;
            t = std::make_unique<io::TlsTransport>(
                reactor_.native(), std::move(t), req_.tls, io::TlsRole::Client,
                [weak](bool ok, std::string why) {
                    if (auto me = weak.lock(); me && !ok) me->finish("TLS: " + why);
                },
                req_.tls_name);
        }
        transport_ = std::move(t);
        transport_->set_listener(this);
        transport_->write(std::move(req_.head));
        send_piece(req_.message_prefix);
        pump();
    }

    void send_piece(std::string_view piece) {
        if (piece.empty() || !transport_) return;
        if (req_.framing == ScanFraming::Chunked) transport_->write(length_prefix(piece.size()));
        transport_->write(std::string(piece));
    }

    void pump() {
        if (in_pump_ || !transport_ || sent_all_) return;
        in_pump_ = true;
        const auto& body = req_.body;
        while (transport_ && !sent_all_ && transport_->queued_bytes() < kLowWater && !reading_) {
            if (read_failed_) {
                in_pump_ = false;
                finish("reading the message from the spool failed");
                return;
            }
            std::string held;
            std::string_view piece;
            bool end = false;
            if (chunk_) {
                held = std::move(*chunk_);
                chunk_.reset();
                piece = held;
                end = held.empty();
            } else if (!body || offset_ >= body->size()) {
                end = true;
            } else if (!body->in_file()) {
                piece = std::string_view(body->memory()).substr(offset_, kChunk);
                end = piece.empty();
            } else {
                reading_ = true;
                std::weak_ptr<Exchange> weak = weak_from_this();
                body->read_async(offset_, kChunk, [weak](bool ok, std::string data) {
                    auto me = weak.lock();
                    if (!me || me->done_called_) return;
                    me->reading_ = false;
                    if (!ok) me->read_failed_ = true;
                    else me->chunk_ = std::move(data);
                    if (!me->in_pump_) me->pump();   // else the loop in pump() picks it up
                });
                continue;
            }
            if (end) {
                if (body && offset_ != body->size()) {
                    in_pump_ = false;
                    finish(fmt::format("the spool ended after {} of {} octets", offset_, body->size()));
                    return;
                }
                if (req_.framing == ScanFraming::Chunked) transport_->write(length_prefix(0));
                sent_all_ = true;
                break;
            }
            offset_ += piece.size();
            send_piece(piece);
        }
        in_pump_ = false;
        if (read_failed_ && !done_called_) finish("reading the message from the spool failed");
    }

    void finish(std::string error) {
        if (done_called_) return;
        done_called_ = true;
        auto keep = std::move(self_);   // this object lives until the end of this function
        timer_.stop();
        connecting_.reset();
        if (transport_) {
            transport_->set_listener(nullptr);
            transport_->close_now();
            transport_.reset();
        }
        ScanOutcome out;
        out.reply = std::move(reply_);
        out.error = std::move(error);
        out.message_sent = sent_all_;
        out.timed_out = timed_out_;
        out.elapsed_ms = reactor_.now_ms() - started_ms_;
        auto done = std::move(done_);
        done(std::move(out));
    }

    io::Reactor reactor_;
    ScanRequest req_;
    std::function<void(ScanOutcome)> done_;
    io::Timer timer_;
    std::uint64_t started_ms_;
    std::shared_ptr<Exchange> self_;   // held from start() until finish(): the exchange owns itself
    std::unique_ptr<io::Connecting> connecting_;
    std::unique_ptr<io::Transport> transport_;
    std::string reply_;
    std::uint64_t offset_ = 0;         // next spool octet to send
    bool sent_all_ = false;
    bool reading_ = false;             // a spool read is in flight
    bool in_pump_ = false;
    bool read_failed_ = false;
    bool done_called_ = false;
    bool timed_out_ = false;
    std::optional<std::string> chunk_; // a spool read that completed while pumping
};

}  // namespace

std::uint64_t scan_message_size(const ScanRequest& r) {
    return r.message_prefix.size() + (r.body && r.body->size() > r.body_offset ? r.body->size() - r.body_offset : 0);
}

void run_scan(const io::Reactor& reactor, ScanRequest request, std::function<void(ScanOutcome)> done) {
    std::make_shared<Exchange>(reactor, std::move(request), std::move(done))->start();
}

}  // namespace asmtpd::client
