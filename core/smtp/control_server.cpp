// control_server.cpp - requests and answers on the control socket (see control_server.hpp).
#include "core/smtp/control_server.hpp"

#include <fmt/format.h>

namespace asmtpd::smtp {

struct ControlServer::Conn final : io::StreamListener {
    Conn(ControlServer& s, std::unique_ptr<io::TcpStream> st) : server(s), stream(std::move(st)), idle(s.loop_) {}
    ~Conn() override {
        idle.stop();
        stream->set_listener(nullptr);
        if (!stream->closed()) stream->close_now();
    }
    void on_read(std::string_view bytes) override {
        if (done) return;
        in.append(bytes);
        if (in.size() > 16 * proto::kMaxControlLine) {   // piling up behind a slow answer
            server.retire(this);
            return;
        }
        server.next_request(*this);
    }
    void on_eof() override {
        if (!done) server.retire(this);
    }
    void arm_idle() {
        idle.start(ControlServer::kIdleMs, [this] {
            if (!done && !waiting) server.retire(this);
        });
    }

    ControlServer& server;
    std::unique_ptr<io::TcpStream> stream;
    io::Timer idle;
    std::string in;
    bool waiting = false;   // a request is with the handler
    bool done = false;      // closed: waiting for the reaper
};

std::unique_ptr<ControlServer> ControlServer::adopt(uv_loop_t* loop, int fd, Handler handler, io::Log log,
                                                    std::string& error) {
    std::unique_ptr<ControlServer> s(new ControlServer(loop, std::move(handler), std::move(log)));
    ControlServer* raw = s.get();
    s->listener_ = io::Listener::adopt(loop, fd, [raw](std::unique_ptr<io::TcpStream> st) { raw->accepted(std::move(st)); },
                                       error);
    if (!s->listener_) return nullptr;
    return s;
}

ControlServer::ControlServer(uv_loop_t* loop, Handler handler, io::Log log)
    : loop_(loop), handler_(std::move(handler)), log_(std::move(log)), reaper_(loop) {}

ControlServer::~ControlServer() {
    close();
    reaper_.stop();
    retired_.clear();
}

void ControlServer::close() {
    if (listener_) listener_->close();
    // An answer already written (drain's) still reaches its client.
    // Possibly called from inside a connection's callback (drain with workers: 1): the
    // connections are destroyed from the reaper, not here.
    for (auto& c : conns_) {
        c->done = true;
        c->idle.stop();
        c->stream->close_after_flush();
        retired_.push_back(std::move(c));
    }
    conns_.clear();
    if (!retired_.empty()) reaper_.start(0, [this] { retired_.clear(); });
}

void ControlServer::accepted(std::unique_ptr<io::TcpStream> stream) {
    if (conns_.size() >= kMaxConnections) {
        log_.warn("control: {} connections open; closing a new one", conns_.size());
        stream->write(proto::control_error_reply("too many control connections"));
        stream->close_after_flush();
        return;
    }
    auto c = std::make_shared<Conn>(*this, std::move(stream));
    Conn* raw = c.get();
    conns_.push_back(std::move(c));
    raw->arm_idle();
    raw->stream->set_listener(raw);
}

void ControlServer::retire(Conn* c) {
    c->done = true;
    c->idle.stop();
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
        if (it->get() != c) continue;
        retired_.push_back(std::move(*it));
        conns_.erase(it);
        break;
    }
    reaper_.start(0, [this] { retired_.clear(); });
}

void ControlServer::next_request(Conn& c) {
    while (!c.done && !c.waiting) {
        const auto p = proto::parse_control_request(c.in);
        using S = proto::ControlRequestParse::Status;
        if (p.status == S::Incomplete) return;
        c.arm_idle();
        if (p.status == S::Invalid) {
            log_.debug("control: bad request: {}", p.error);
            c.stream->write(proto::control_error_reply(p.error));
            if (p.consumed == 0) {
                c.stream->close_after_flush();
                retire(&c);
                return;
            }
            c.in.erase(0, p.consumed);
            continue;
        }
        c.in.erase(0, p.consumed);
        c.waiting = true;
        log_.info("control: {}", proto::control_verb_name(p.verb));
        std::weak_ptr<Conn> weak;
        for (const auto& sp : conns_)
            if (sp.get() == &c) weak = sp;
        handler_(p.verb, [weak](std::string reply) {
            auto conn = weak.lock();
            if (!conn || conn->done) return;
            conn->stream->write(std::move(reply));
            conn->waiting = false;
            conn->arm_idle();
            conn->server.next_request(*conn);
        });
    }
}

}  // namespace asmtpd::smtp
