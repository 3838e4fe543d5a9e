// milter_client.cpp - one milter connection (see milter_client.hpp).
//
// Must never: call a done callback twice, from inside the call that started it, or after
// close(); read the next spool piece while more than kLowWater bytes wait in the socket's queue;
// accept a packet nobody waits for. The shape of the body pump is scan_exchange.cpp's: a spool
// read completes inside pump_body() (memory spool) or later from libuv; only the outermost
// pump_body() loops.
#include "core/client/milter_client.hpp"

#include <fmt/format.h>

#include <charconv>

#include "core/io/connector.hpp"
#include "core/io/stream.hpp"
#include "core/io/timer.hpp"

namespace asmtpd::client {

namespace milter = proto::milter;

namespace {
constexpr std::size_t kLowWater = 256 * 1024;     // write more body when less than this is queued
constexpr std::size_t kBodySpoolMemory = 1 << 20; // a replaced body past this goes to a file
}  // namespace

std::optional<NextHop> parse_milter_socket(std::string_view text, std::string& error) {
    NextHop hop;
    auto bad = [&](std::string why) -> std::optional<NextHop> {
        error = "bad milter socket '" + std::string(text) + "': " + why;
        return std::nullopt;
    };
    if (text.starts_with("unix:") || text.starts_with("local:")) {
        hop.unix_socket = true;
        hop.path = std::string(text.substr(text.find(':') + 1));
        if (hop.path.empty() || hop.path[0] != '/') return bad("the path must be absolute");
        return hop;
    }
    if (!text.starts_with("inet:") && !text.starts_with("inet6:")) return bad("unix:/path or inet:port@host");
    std::string_view rest = text.substr(text.find(':') + 1);
    std::string_view port_text, host;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        port_text = rest.substr(0, at);
        host = rest.substr(at + 1);
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port_text = rest.substr(colon + 1);
    } else {
        return bad("inet:port@host");
    }
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "localhost";
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return bad("bad port");
    sockaddr_storage ss{};
    if (!io::literal_address(host, static_cast<std::uint16_t>(port), ss))
        return bad("the host must be an IP address or localhost");
    hop.host = std::string(host);
    hop.port = static_cast<std::uint16_t>(port);
    return hop;
}

struct MilterConnection::Impl final : public io::StreamListener {
    explicit Impl(MilterConnection& c) : conn(c), timer(c.reactor_.native()) {}

    MilterConnection& conn;
    io::Timer timer;
    std::unique_ptr<io::Connecting> connecting;
    std::unique_ptr<io::Transport> transport;
    std::string inbuf;
    std::string out;          // packets not yet handed to the socket
    bool closed = false;

    // The exchange in progress.
    std::function<void(MilterAnswer)> done;
    MilterAnswer answer;
    bool awaiting = false;
    std::uint64_t await_ms = 0;
    std::function<void(const milter::Reply&)> on_final;

    // The message being streamed.
    MilterMessage msg;
    std::size_t head_i = 0;
    std::uint64_t body_off = 0;
    bool in_body = false, in_pump = false, reading = false, drain_wait = false;
    std::optional<std::string> chunk;

    std::weak_ptr<MilterConnection> weak() { return conn.weak_from_this(); }

    void fail(std::string why) {
        if (closed && !done) return;
        conn.broken_ = true;
        teardown();
        if (!done) return;
        answer.error = std::move(why);
        deliver();
    }

    void deliver() {
        auto d = std::move(done);
        done = nullptr;
        auto a = std::move(answer);
        answer = MilterAnswer{};
        msg = MilterMessage{};
        in_body = false;
        if (d) d(std::move(a));
    }

    void teardown() {
        closed = true;
        awaiting = false;
        timer.stop();
        connecting.reset();
        if (transport) {
            transport->set_listener(nullptr);
            transport->close_now();
            transport.reset();
        }
    }

    // Packets are gathered and go out in one write when a reply is awaited (or 64 KB are
    // waiting): a filter that answers nothing until the end of message costs one write per
    // message, not one per step.
    void write(std::string_view bytes) {
        if (!transport || bytes.empty()) return;
        out.append(bytes);
        if (out.size() >= kLowWater / 4) flush();
    }

    void flush() {
        if (!transport || out.empty()) return;
        transport->write(std::move(out));
        out.clear();
    }

    void await(std::uint64_t ms, std::function<void(const milter::Reply&)> then) {
        flush();
        awaiting = true;
        await_ms = ms;
        on_final = std::move(then);
        arm();
        parse_input();   // a reply may already be buffered
    }

    void arm() {
        auto w = weak();
        const auto ms = await_ms;
        timer.start(ms, [w, ms] {
            if (auto me = w.lock()) me->impl_->fail(fmt::format("no reply within {} ms", ms));
        });
    }

    void on_read(std::string_view bytes) override {
        inbuf.append(bytes);
        parse_input();
    }

    void parse_input() {
        auto keep = conn.shared_from_this();
        while (!closed && !inbuf.empty()) {
            milter::Packet p;
            std::size_t used = 0;
            std::string error;
            auto need = milter::take_packet(inbuf, p, used, error);
            if (need == milter::Need::More) return;
            if (need == milter::Need::Error) return fail("protocol error: " + error);
            inbuf.erase(0, used);
            auto r = milter::parse_reply(p, error);
            if (!r) return fail("protocol error: " + error);
            if (!awaiting) return fail(fmt::format("unexpected {} reply", milter::reply_name(r->kind)));
            if (r->kind == milter::ReplyKind::Progress) {
                arm();
                continue;
            }
            if (!r->final()) {
                if (r->kind == milter::ReplyKind::ReplaceBody) {
                    if (!answer.new_body) {
                        answer.new_body = io::Spool::create(conn.reactor_.native(), msg.spool_dir, kBodySpoolMemory);
                        answer.new_body->append(msg.body_prefix);
                    }
                    answer.new_body->append(r->value);
                } else {
                    answer.changes.push_back(std::move(*r));
                }
                continue;
            }
            awaiting = false;
            timer.stop();
            auto then = std::move(on_final);
            on_final = nullptr;
            then(*r);
        }
    }

    void on_eof() override { fail(awaiting ? "the milter closed the connection" : "the milter closed the connection while idle"); }

    void on_drained() override {
        if (drain_wait) {
            drain_wait = false;
            pump_body();
        }
    }

    // ---- the message ----------------------------------------------------------------

    void step_head() {
        while (head_i < msg.head.size()) {
            auto& s = msg.head[head_i++];
            write(s.bytes);
            if (s.wants_reply) {
                await(conn.timeouts_.command_ms, [this](const milter::Reply& r) {
                    if (r.kind == milter::ReplyKind::Continue) step_head();
                    else finish(r);
                });
                return;
            }
        }
        if (!msg.send_body || !msg.spool) return send_end();
        in_body = true;
        body_off = msg.body_from;
        pump_body();
    }

    void pump_body() {
        if (in_pump || closed || !in_body) return;
        in_pump = true;
        auto keep = conn.shared_from_this();
        while (!closed && in_body && !awaiting && !reading) {
            if (!msg.body_replies && transport->queued_bytes() + out.size() >= kLowWater) {
                drain_wait = true;
                break;
            }
            std::string held;
            std::string_view piece;
            const auto& spool = msg.spool;
            if (chunk) {
                held = std::move(*chunk);
                chunk.reset();
                piece = held;
            } else if (body_off >= spool->size()) {
                piece = {};
            } else if (!spool->in_file()) {
                piece = std::string_view(spool->memory()).substr(body_off, milter::kMaxBodyChunk);
            } else {
                reading = true;
                auto w = weak();
                spool->read_async(body_off, milter::kMaxBodyChunk, [w](bool ok, std::string data) {
                    auto me = w.lock();
                    if (!me || me->impl_->closed) return;
                    auto& im = *me->impl_;
                    im.reading = false;
                    if (!ok) return im.fail("reading the message from the spool failed");
                    im.chunk = std::move(data);
                    if (!im.in_pump) im.pump_body();
                });
                continue;
            }
            if (piece.empty()) {
                in_body = false;
                in_pump = false;
                return send_end();
            }
            body_off += piece.size();
            write(milter::packet('B', piece));
            if (msg.body_replies) {
                await(conn.timeouts_.content_ms, [this](const milter::Reply& r) {
                    if (r.kind == milter::ReplyKind::Continue) return pump_body();
                    if (r.kind == milter::ReplyKind::Skip) {
                        in_body = false;
                        return send_end();
                    }
                    finish(r);
                });
            }
        }
        in_pump = false;
    }

    void send_end() {
        write(msg.end);
        await(conn.timeouts_.content_ms, [this](const milter::Reply& r) { finish(r); });
    }

    void finish(const milter::Reply& r) {
        in_body = false;
        answer.reply = r;
        if (!answer.new_body) return deliver();
        auto w = weak();
        answer.new_body->finish([w](bool ok) {
            auto me = w.lock();
            if (!me || !me->impl_->done) return;
            if (!ok) return me->impl_->fail("writing the replaced body to the spool failed");
            me->impl_->deliver();
        });
    }
};

MilterConnection::MilterConnection(const io::Reactor& reactor, NextHop target, MilterTimeouts timeouts)
    : reactor_(reactor), target_(std::move(target)), timeouts_(timeouts) {}

MilterConnection::~MilterConnection() {
    if (impl_) {
        impl_->done = nullptr;
        impl_->teardown();
    }
}

std::shared_ptr<MilterConnection> MilterConnection::create(const io::Reactor& reactor, NextHop target,
                                                           MilterTimeouts timeouts) {
    std::shared_ptr<MilterConnection> c(new MilterConnection(reactor, std::move(target), timeouts));
    c->impl_ = std::make_unique<Impl>(*c);
    return c;
}

bool MilterConnection::busy() const { return impl_->done != nullptr; }

void MilterConnection::open(std::uint32_t actions, std::uint32_t protocol, std::function<void(std::string)> done) {
    auto& im = *impl_;
    im.done = [done = std::move(done)](MilterAnswer a) { done(std::move(a.error)); };
    auto w = weak_from_this();
    auto on_connect = [w, actions, protocol](std::unique_ptr<io::Transport> t, std::string error) {
        auto me = w.lock();
        if (!me) return;
        auto& im = *me->impl_;
        im.connecting.reset();
        if (!t) return im.fail(error.empty() ? "connect failed" : std::move(error));
        im.transport = std::move(t);
        im.transport->set_listener(&im);
        im.write(milter::optneg(milter::kVersion, actions, protocol));
        im.await(me->timeouts_.command_ms, [&im, me = me.get(), actions, protocol](const milter::Reply& r) {
            if (r.kind != milter::ReplyKind::OptNeg) return im.fail("the milter answered OPTNEG with " +
                                                                    std::string(milter::reply_name(r.kind)));
            if (r.optneg.version < 2 || r.optneg.version > milter::kVersion)
                return im.fail(fmt::format("the milter speaks protocol version {}", r.optneg.version));
            if ((r.optneg.actions & ~actions) != 0)
                return im.fail(fmt::format("the milter asks for actions 0x{:x} beyond 0x{:x}", r.optneg.actions, actions));
            if ((r.optneg.protocol & ~protocol) != 0)
                return im.fail(fmt::format("the milter asks for protocol steps 0x{:x} beyond 0x{:x}",
                                           r.optneg.protocol, protocol));
            me->negotiated_ = r.optneg;
            im.deliver();
        });
    };
    uv_loop_t* loop = reactor_.native();
    im.connecting = target_.unix_socket ? io::connect_unix(loop, target_.path, timeouts_.connect_ms, on_connect)
                                        : io::connect_tcp(loop, target_.host, target_.port, timeouts_.connect_ms, on_connect);
}

void MilterConnection::send(std::string bytes) {
    if (!broken_) impl_->write(bytes);
}

void MilterConnection::request(std::string bytes, std::uint64_t timeout_ms, std::function<void(MilterAnswer)> done) {
    auto& im = *impl_;
    if (broken_ || im.closed || im.done || !im.transport) {
        // Never inside the call: answer from the loop.
        auto w = weak_from_this();
        const char* why = im.done ? "a milter exchange is already in progress" : "the milter connection is down";
        reactor_.run_in_pool([] {}, [done = std::move(done), why] {
            MilterAnswer a;
            a.error = why;
            done(std::move(a));
        });
        return;
    }
    im.done = std::move(done);
    im.write(bytes);
    im.await(timeout_ms, [&im](const milter::Reply& r) {
        im.answer.reply = r;
        im.deliver();
    });
}

void MilterConnection::message(MilterMessage m, std::function<void(MilterAnswer)> done) {
    auto& im = *impl_;
    if (broken_ || im.closed || im.done || !im.transport) return request({}, 0, std::move(done));
    im.done = std::move(done);
    im.msg = std::move(m);
    im.head_i = 0;
    im.step_head();
}

bool MilterConnection::park() {
    auto& im = *impl_;
    if (broken_ || im.closed || im.done || !im.transport || negotiated_.version < milter::kVersion) return false;
    im.write(milter::packet('K'));
    im.flush();
    return true;
}

void MilterConnection::close(bool quit) {
    auto& im = *impl_;
    im.done = nullptr;
    if (im.closed) return;
    if (quit && !broken_ && im.transport) {
        im.transport->set_listener(nullptr);
        im.write(milter::packet('Q'));
        im.flush();
        im.transport->close_after_flush();
        im.transport.reset();
    }
    im.teardown();
}

}  // namespace asmtpd::client
