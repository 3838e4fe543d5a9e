// dovecot_auth.cpp - the per-loop Dovecot auth connection; see dovecot_auth.hpp.
//
// Must never: answer a request twice or from inside authenticate(), send a request before
// the server's DONE, keep a connection whose peer broke the protocol, or put anything of the
// request line (the password) into an error text.
#include "core/client/dovecot_auth.hpp"

#include <unistd.h>

#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/io/connector.hpp"
#include "core/io/signals.hpp"
#include "core/io/timer.hpp"
#include "core/proto/dovecot_auth.hpp"

namespace asmtpd::client {

struct DovecotAuthClient::Pending {
    std::uint32_t id = 0;
    DovecotAuthQuery query;
    std::function<void(DovecotAuthAnswer)> done;
    std::unique_ptr<io::Timer> deadline;
    std::uint64_t started_ms = 0;
    bool sent = false;
};

std::shared_ptr<DovecotAuthClient> DovecotAuthClient::create(const io::Reactor& reactor, NextHop target,
                                                             std::uint64_t timeout_ms) {
    return std::shared_ptr<DovecotAuthClient>(new DovecotAuthClient(reactor, std::move(target), timeout_ms));
}

DovecotAuthClient::DovecotAuthClient(const io::Reactor& reactor, NextHop target, std::uint64_t timeout_ms)
    : reactor_(reactor), target_(std::move(target)), timeout_ms_(timeout_ms) {}

DovecotAuthClient::~DovecotAuthClient() {
    // Every pending request holds the client through its timer callback's weak_ptr only: the
    // callers' done functions are dropped unanswered here (their HookCalls answer for them).
    connecting_.reset();
    if (conn_) conn_->close_now();
}

void DovecotAuthClient::authenticate(DovecotAuthQuery q, std::function<void(DovecotAuthAnswer)> done) {
    auto p = std::make_shared<Pending>();
    if (++next_id_ == 0) ++next_id_;   // 0 is not an id
    p->id = next_id_;
    p->query = std::move(q);
    p->done = std::move(done);
    p->started_ms = reactor_.now_ms();
    p->deadline = reactor_.timer();
    std::weak_ptr<DovecotAuthClient> weak = weak_from_this();
    p->deadline->start(timeout_ms_, [weak, id = p->id] {
        if (auto me = weak.lock()) me->expire(id);
    });
    pending_.emplace(p->id, p);
    if (state_ == State::Ready)
        send(*p);
    else if (state_ == State::Closed)
        connect();
}

void DovecotAuthClient::shutdown() {
    draining_ = true;
    close_if_idle();
}

void DovecotAuthClient::connect() {
    state_ = State::Connecting;
    have_plain_ = false;
    inbuf_.clear();
    conn_.reset();
    ++connections_made_;
    std::weak_ptr<DovecotAuthClient> weak = weak_from_this();
    auto cb = [weak](std::unique_ptr<io::Transport> t, std::string error) {
        if (auto me = weak.lock()) me->on_connected(std::move(t), std::move(error));
    };
    uv_loop_t* loop = reactor_.native();
    connecting_ = target_.unix_socket ? io::connect_unix(loop, target_.path, timeout_ms_, cb)
                                      : io::connect_tcp(loop, target_.host, target_.port, timeout_ms_, cb);
    watch_signals();
}

void DovecotAuthClient::on_connected(std::unique_ptr<io::Transport> t, std::string error) {
    connecting_.reset();
    if (!t) {
        state_ = State::Closed;
        drop(error.empty() ? "cannot connect" : error);
        return;
    }
    conn_ = std::move(t);
    state_ = State::Handshake;
    conn_->set_listener(this);
    conn_->write(proto::dovecot_auth_handshake(static_cast<std::uint64_t>(::getpid())));
}

void DovecotAuthClient::on_read(std::string_view bytes) {
    auto keep = shared_from_this();
    if (state_ != State::Handshake && state_ != State::Ready) return;
    inbuf_.append(bytes);
    std::size_t pos = 0;
    while (state_ == State::Handshake || state_ == State::Ready) {
        const auto lf = inbuf_.find('\n', pos);
        if (lf == std::string::npos) break;
        const std::string line = inbuf_.substr(pos, lf - pos);
        pos = lf + 1;
        handle_line(line);
    }
    if (state_ != State::Handshake && state_ != State::Ready) return;
    inbuf_.erase(0, pos);
    if (inbuf_.size() > proto::kDovecotAuthMaxLine) drop("a line over the protocol's limit");
}

void DovecotAuthClient::on_eof() {
    auto keep = shared_from_this();
    if (state_ != State::Handshake && state_ != State::Ready) return;
    drop(state_ == State::Handshake ? "the server closed the connection during the handshake"
                                    : "the server closed the connection");
}

void DovecotAuthClient::handle_line(std::string_view text) {
    std::string error;
    auto line = proto::parse_dovecot_auth_line(text, error);
    if (!line) return drop("protocol error: " + error);
    using K = proto::DovecotAuthKind;
    if (state_ == State::Handshake) {
        switch (line->kind) {
            case K::Version:
                if (line->major != proto::kDovecotAuthMajor)
                    return drop(fmt::format("the server speaks protocol version {}.{}", line->major, line->minor));
                return;
            case K::Mech:
                if (line->mech == "PLAIN") have_plain_ = true;
                return;
            case K::Done:
                if (!have_plain_) return drop("the server offers no PLAIN mechanism");
                state_ = State::Ready;
                for (auto& [id, p] : pending_)
                    if (!p->sent) send(*p);
                close_if_idle();
                return;
            case K::Ok:
            case K::Fail:
            case K::Cont: return drop("an answer before the handshake ended");
            default: return;   // SPID, CUID, COOKIE and lines this client does not know
        }
    }
    if (line->kind != K::Ok && line->kind != K::Fail && line->kind != K::Cont) return;
    auto it = pending_.find(line->id);
    if (it == pending_.end() || !it->second->sent) return;   // timed out meanwhile: ignored
    DovecotAuthAnswer a;
    a.user = line->user;
    if (line->kind == K::Ok) {
        a.verdict = DovecotVerdict::Ok;
    } else if (line->kind == K::Fail) {
        a.verdict = line->temporary ? DovecotVerdict::Temporary : DovecotVerdict::Fail;
        a.detail = line->reason.empty() ? (line->temporary ? "temporary failure" : "refused")
                                        : line->reason.substr(0, 200);
    } else {
        // PLAIN with its initial response needs no second round; the server's request stays
        // open on its side until its own timeout (the protocol has no cancel).
        a.verdict = DovecotVerdict::Temporary;
        a.detail = "the server asked for more (CONT) after PLAIN's initial response";
    }
    finish(line->id, std::move(a));
}

void DovecotAuthClient::send(Pending& p) {
    proto::DovecotAuthRequest r;
    r.id = p.id;
    r.service = p.query.service;
    r.local_ip = p.query.local_ip;
    r.remote_ip = p.query.remote_ip;
    r.local_port = p.query.local_port;
    r.remote_port = p.query.remote_port;
    r.secured = p.query.secured;
    r.initial_response = proto::dovecot_plain_response(p.query.user, p.query.password);
    p.sent = true;
    conn_->write(proto::dovecot_auth_request_line(r));
}

void DovecotAuthClient::finish(std::uint32_t id, DovecotAuthAnswer a) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto p = std::move(it->second);
    pending_.erase(it);
    p->deadline.reset();
    a.elapsed_ms = reactor_.now_ms() - p->started_ms;
    auto done = std::move(p->done);
    close_if_idle();
    if (done) done(std::move(a));
}

void DovecotAuthClient::expire(std::uint32_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const bool stuck = state_ == State::Connecting || state_ == State::Handshake;
    DovecotAuthAnswer a;
    a.verdict = DovecotVerdict::Temporary;
    a.detail = fmt::format("no answer within {} ms{}", timeout_ms_,
                           state_ == State::Connecting   ? " (connecting)"
                           : state_ == State::Handshake ? " (the handshake did not end)"
                                                        : "");
    if (stuck) {
        // The connection never became usable: start afresh for the next request.
        auto p = std::move(it->second);
        pending_.erase(it);
        drop("handshake timed out");
        if (p->done) p->done(std::move(a));
        return;
    }
    finish(id, std::move(a));
}

void DovecotAuthClient::drop(const std::string& why) {
    connecting_.reset();
    if (conn_) conn_->close_now();
    state_ = State::Closed;
    inbuf_.clear();
    stop_signals_.reset();
    auto failed = std::exchange(pending_, {});
    for (auto& [id, p] : failed) {
        p->deadline.reset();
        DovecotAuthAnswer a;
        a.verdict = DovecotVerdict::Temporary;
        a.detail = why;
        a.elapsed_ms = reactor_.now_ms() - p->started_ms;
        if (p->done) p->done(std::move(a));
    }
}

void DovecotAuthClient::close_if_idle() {
    if (!draining_ || !pending_.empty() || state_ == State::Closed) return;
    connecting_.reset();
    if (conn_) conn_->close_now();
    state_ = State::Closed;
    inbuf_.clear();
    stop_signals_.reset();
}

void DovecotAuthClient::watch_signals() {
    if (stop_signals_) return;
    std::weak_ptr<DovecotAuthClient> weak = weak_from_this();
    stop_signals_ = std::make_unique<io::StopSignals>(reactor_.native(), [weak] {
        if (auto me = weak.lock()) me->shutdown();
    });
}

}  // namespace asmtpd::client
