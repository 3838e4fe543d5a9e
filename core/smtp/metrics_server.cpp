// metrics_server.cpp - GET /metrics over HTTP/1.1 (see metrics_server.hpp).
#include "core/smtp/metrics_server.hpp"

#include <fmt/format.h>

#include "core/proto/http_request.hpp"
#include "core/proto/prom_text.hpp"

namespace asmtpd::smtp {

namespace {
std::string_view reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 431: return "Request Header Fields Too Large";
        case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}
}  // namespace

struct MetricsServer::Conn final : io::StreamListener {
    Conn(MetricsServer& s, std::unique_ptr<io::TcpStream> st) : server(s), stream(std::move(st)), deadline(s.loop_) {}
    ~Conn() override {
        deadline.stop();
        stream->set_listener(nullptr);
        if (!stream->closed()) stream->close_now();
    }
    void on_read(std::string_view bytes) override {
        if (done) return;
        in.append(bytes);
        server.handle(*this);
    }
    void on_eof() override {
        if (!done) server.retire(this);
    }

    MetricsServer& server;
    std::unique_ptr<io::TcpStream> stream;
    io::Timer deadline;
    std::string in;
    bool done = false;   // answered (or dropped): waiting for the reaper
};

std::unique_ptr<MetricsServer> MetricsServer::adopt(uv_loop_t* loop, int fd, Render render, io::Log log,
                                                    std::string& error, MetricsServerOptions options) {
    std::unique_ptr<MetricsServer> s(new MetricsServer(loop, std::move(render), std::move(log), options));
    MetricsServer* raw = s.get();
    s->listener_ = io::Listener::adopt(loop, fd, [raw](std::unique_ptr<io::TcpStream> st) { raw->accepted(std::move(st)); },
                                       error);
    if (!s->listener_) return nullptr;
    return s;
}

MetricsServer::MetricsServer(uv_loop_t* loop, Render render, io::Log log, MetricsServerOptions options)
    : loop_(loop), render_(std::move(render)), log_(std::move(log)), options_(options), reaper_(loop) {}

MetricsServer::~MetricsServer() { close(); }

void MetricsServer::close() {
    if (listener_) listener_->close();
    reaper_.stop();
    conns_.clear();
    retired_.clear();
}

std::uint16_t MetricsServer::port() const { return listener_ ? listener_->port() : 0; }

void MetricsServer::accepted(std::unique_ptr<io::TcpStream> stream) {
    if (conns_.size() >= options_.max_connections) {
        log_.warn("metrics: {} connections open; closing one from {}", conns_.size(), stream->peer_ip());
        stream->close_now();
        return;
    }
    auto c = std::make_unique<Conn>(*this, std::move(stream));
    Conn* raw = c.get();
    conns_.push_back(std::move(c));
    raw->deadline.start(options_.request_timeout_ms, [this, raw] {
        if (raw->done) return;
        respond(*raw, 408, "text/plain; charset=utf-8", "request timeout\n", false);
    });
    raw->stream->set_listener(raw);
}

void MetricsServer::retire(Conn* c) {
    c->done = true;
    c->deadline.stop();
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
        if (it->get() != c) continue;
        retired_.push_back(std::move(*it));
        conns_.erase(it);
        break;
    }
    reaper_.start(0, [this] { retired_.clear(); });
}

void MetricsServer::respond(Conn& c, int status, std::string_view content_type, std::string body, bool head_only,
                            std::string_view extra_fields) {
    std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
                                  status, reason(status), content_type, body.size(), extra_fields);
    if (!head_only) out += body;
    c.stream->write(std::move(out));
    c.stream->close_after_flush();
    retire(&c);
}

void MetricsServer::handle(Conn& c) {
    const auto p = proto::parse_http_request_head(c.in);
    using S = proto::HttpRequestParse::Status;
    if (p.status == S::Incomplete) return;
    ++requests_;
    constexpr std::string_view kText = "text/plain; charset=utf-8";
    if (p.status == S::Invalid) {
        log_.debug("metrics: bad request from {}: {}", c.stream->peer_ip(), p.error);
        respond(c, p.error_status, kText, p.error + "\n", false);
        return;
    }
    const bool head = p.head.method == "HEAD";
    if (p.head.method != "GET" && !head) {
        respond(c, 405, kText, "only GET and HEAD\n", false, "Allow: GET, HEAD\r\n");
        return;
    }
    if (p.head.path != "/metrics") {
        respond(c, 404, kText, "not found; the metrics are at /metrics\n", head);
        return;
    }
    respond(c, 200, proto::kPromContentType, render_(), head);
}

}  // namespace asmtpd::smtp
