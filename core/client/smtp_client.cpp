// smtp_client.cpp - the client side of one SMTP/LMTP connection (see smtp_client.hpp).
//
// Must never: send the final dot for a job nobody waits for; send DATA unless every recipient
// was accepted (a partial delivery cannot be reported to our client, who already has a 250 for
// each recipient); attribute a reply to the wrong command (a reply stream out of step, a
// malformed reply or leftover input closes the connection instead of reusing it); read the
// next spool piece before the socket took the previous ones; call the owner from the
// destructor. Every entry point from libuv holds a shared_ptr to this object, because the
// owner may drop the connection from inside any callback it gets.
// The message transfer (spool -> dot-stuffer -> socket) is in smtp_client_body.cpp.
#include "core/client/smtp_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace asmtpd::client {

namespace {

const char* wait_name(int w) {
    static constexpr const char* kNames[] = {"greeting", "EHLO",      "HELO",          "RSET",
                                             "MAIL",     "RCPT",      "DATA",          "final dot",
                                             "STARTTLS", "TLS handshake", "AUTH"};
    return (w >= 0 && w < 11) ? kNames[w] : "?";
}

std::string seconds(std::uint64_t ms) {
    return ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{:.3f} s", ms / 1000.0);
}

}  // namespace

ClientConnection::ClientConnection(uv_loop_t* loop, const ClientConfig& config, std::string helo_name,
                                   ConnectionOwner& owner, io::Log log, std::uint64_t id, bool plaintext_retry)
    : loop_(loop), config_(config), helo_name_(std::move(helo_name)), owner_(owner), log_(std::move(log)), id_(id),
      plaintext_retry_(plaintext_retry), timer_(loop) {}

ClientConnection::~ClientConnection() {
    phase_ = Phase::Closed;
    connecting_.reset();
    drop_transport();
}

void ClientConnection::drop_transport() {
    timer_.stop();
    waits_.clear();
    tls_ = nullptr;
    if (!transport_) return;
    transport_->set_listener(nullptr);
    transport_->close_now();
    transport_.reset();
}

void ClientConnection::open() {
    auto self = shared_from_this();
    phase_ = Phase::Connecting;
    stage_ = Stage::Connect;
    std::weak_ptr<ClientConnection> weak = self;
    auto cb = [weak](std::unique_ptr<io::Transport> t, std::string error) {
        if (auto me = weak.lock()) me->on_connected(std::move(t), std::move(error));
    };
    const NextHop& hop = config_.hop;
    connecting_ = hop.unix_socket ? io::connect_unix(loop_, hop.path, config_.limits.connect_ms, cb)
                                  : io::connect_tcp(loop_, hop.host, hop.port, config_.limits.connect_ms, cb);
}

void ClientConnection::on_connected(std::unique_ptr<io::Transport> t, std::string error) {
    connecting_.reset();
    if (phase_ != Phase::Connecting) return;
    if (!t) {
        phase_ = Phase::Closed;
        DeliveryReport r;
        r.stage = Stage::Connect;
        r.failure = Failure::Connect;
        r.error = std::move(error);
        owner_.connection_failed(*this, std::move(r));
        return;
    }
    transport_ = std::move(t);
    transport_->set_listener(this);
    phase_ = Phase::Setup;
    stage_ = Stage::Greeting;
    waits_.push_back(Wait::Greeting);
    arm_timer();
}

void ClientConnection::send(std::string line, Wait w, std::string_view shown) {
    log_.debug("next hop {} #{} > {}", config_.hop.describe(), id_, shown.empty() ? std::string_view(line) : shown);
    line += "\r\n";
    transport_->write(std::move(line));
    waits_.push_back(w);
    arm_timer();
}

void ClientConnection::arm_timer() {
    if (waits_.empty()) {
        timer_.stop();
        return;
    }
    const std::uint64_t ms = waits_.front() == Wait::Final ? config_.limits.data_end_ms : config_.limits.command_ms;
    std::weak_ptr<ClientConnection> weak = weak_from_this();
    timer_.start(ms, [weak] {
        if (auto me = weak.lock()) me->on_timeout();
    });
}

void ClientConnection::on_timeout() {
    if (phase_ == Phase::Body) {
        fail(Failure::Timeout, fmt::format("timed out after {} sending the message", seconds(config_.limits.command_ms)));
    } else if (!waits_.empty() && waits_.front() == Wait::Handshake && phase_ == Phase::Setup) {
        handshake_failed(fmt::format("STARTTLS with {}: TLS handshake timed out after {}", config_.security.tls_name,
                                     seconds(config_.limits.command_ms)));
    } else if (!waits_.empty()) {
        const std::uint64_t ms = waits_.front() == Wait::Final ? config_.limits.data_end_ms : config_.limits.command_ms;
        fail(Failure::Timeout, fmt::format("timed out after {} waiting for the reply to {}", seconds(ms),
                         wait_name(static_cast<int>(waits_.front()))));
    }
}

void ClientConnection::on_read(std::string_view bytes) {
    auto self = shared_from_this();
    parser_.feed(bytes);
    while (phase_ != Phase::Closed) {
        auto ev = parser_.next();
        if (ev.status == proto::ClientReplyParser::Status::NeedMore) return;
        if (ev.status == proto::ClientReplyParser::Status::Malformed) {
            fail(Failure::Protocol, "malformed reply from the next hop: " + ev.error);
            return;
        }
        on_reply(std::move(ev.reply));
    }
}

void ClientConnection::on_eof() {
    auto self = shared_from_this();
    if (phase_ == Phase::Idle) {
        log_.debug("next hop {} #{} closed an idle connection", config_.hop.describe(), id_);
        close();
        owner_.connection_lost(*this);
        return;
    }
    if (waits_.empty()) fail(Failure::Closed, fmt::format("next hop closed the connection during the {}", to_string(stage_)));
    else fail(Failure::Closed, fmt::format("next hop closed the connection before replying to {}", wait_name(static_cast<int>(waits_.front()))));
}

void ClientConnection::on_drained() {
    auto self = shared_from_this();
    if (phase_ == Phase::Body) pump();
}

void ClientConnection::on_reply(proto::Reply r) {
    log_.debug("next hop {} #{} < {}", config_.hop.describe(), id_, r.summary());
    if (r.code == 421) {
        // The next hop is going away; whatever we were doing cannot continue here.
        closing_by_peer_ = true;
        if (phase_ == Phase::Idle) {
            close();
            owner_.connection_lost(*this);
            return;
        }
        report_.refusal = r;
        fail(Failure::Closed, "next hop is closing the connection: " + r.summary());
        return;
    }
    if (waits_.empty()) {
        if (phase_ == Phase::Idle) {
            log_.info("next hop {} #{} sent an unsolicited reply: {}", config_.hop.describe(), id_, r.summary());
            close();
            owner_.connection_lost(*this);
            return;
        }
        report_.refusal = r;
        fail(Failure::Protocol, "unexpected reply from the next hop during the " + std::string(to_string(stage_)) + ": " + r.summary());
        return;
    }
    Wait w = waits_.front();
    waits_.pop_front();
    arm_timer();
    if (phase_ == Phase::Setup) on_setup_reply(w, std::move(r));
    else on_job_reply(w, std::move(r));
}

void ClientConnection::on_setup_reply(Wait w, proto::Reply r) {
    const bool lmtp = config_.protocol == NextHopProtocol::Lmtp;
    auto setup_failed = [&](Stage s) {
        phase_ = Phase::Closed;
        timer_.stop();
        waits_.clear();
        if (transport_) {   // refused politely: say goodbye rather than drop the line
            tls_ = nullptr;
            transport_->set_listener(nullptr);
            transport_->write("QUIT\r\n");
            transport_->close_after_flush();
            transport_.reset();
        }
        DeliveryReport rep;
        rep.stage = s;
        rep.refusal = std::move(r);
        owner_.connection_failed(*this, std::move(rep));
    };
    // SMTP only: an LMTP server on this machine may well carry our own name.
    if (!lmtp && (w == Wait::Greeting || w == Wait::Ehlo || w == Wait::Helo) && r.klass() == 2 &&
        reply_names_host(r, helo_name_)) {
        report_ = DeliveryReport{};
        report_.stage = w == Wait::Greeting ? Stage::Greeting : Stage::Hello;
        report_.refusal = r;
        fail(Failure::Loop, fmt::format("next hop {} greets as {}, our own host name: mail loops back to me",
                                        config_.hop.describe(), helo_name_));
        return;
    }
    switch (w) {
        case Wait::Greeting:
            if (r.code != 220) return setup_failed(Stage::Greeting);
            stage_ = Stage::Hello;
            send((lmtp ? "LHLO " : "EHLO ") + helo_name_, Wait::Ehlo);
            return;
        case Wait::Ehlo:
            if (r.klass() == 2) {
                read_offer(r);
                return after_hello();
            }
            // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; HELO is the fallback.
            if (!lmtp && r.permanent()) {
                send("HELO " + helo_name_, Wait::Helo);
                return;
            }
            return setup_failed(Stage::Hello);
        case Wait::Helo:
            if (r.klass() != 2) return setup_failed(Stage::Hello);
            return after_hello();
        case Wait::StartTls:
        case Wait::Auth:
            return on_secure_reply(w, std::move(r));
        default:
            fail(Failure::Protocol, "reply stream out of step during connection set-up");
            return;
    }
}

void ClientConnection::ready() {
    log_.debug("next hop {} #{} ready (pipelining {}, size {}, tls {}, auth {})", config_.hop.describe(), id_,
               pipelining_, size_, tls_ != nullptr, authenticated_);
    phase_ = Phase::Idle;
    enter_idle();
    owner_.connection_ready(*this);
}

void ClientConnection::enter_idle() {
    std::weak_ptr<ClientConnection> weak = weak_from_this();
    timer_.start(config_.limits.idle_ms, [weak] {
        auto me = weak.lock();
        if (!me || me->phase_ != Phase::Idle) return;
        me->log_.debug("next hop {} #{} idle for {}: closing", me->config_.hop.describe(), me->id_,
                       seconds(me->config_.limits.idle_ms));
        me->quit();
        me->owner_.connection_lost(*me);
    });
}

void ClientConnection::run(std::shared_ptr<DeliveryJob> job) {
    auto self = shared_from_this();
    if (phase_ != Phase::Idle || !transport_) {
        // A bug in the owner, but never hang the job: let it be placed elsewhere.
        owner_.job_finished(*this, DeliveryReport{}, ConnectionOwner::After::Retry);
        return;
    }
    job_ = std::move(job);
    log_ = job_->log;
    report_ = DeliveryReport{};
    mail_refusal_.reset();
    next_rcpt_ = 0;
    body_off_ = job_->envelope.body_offset;
    reading_ = false;
    chunk_.reset();
    body_read_failed_ = false;
    stuffer_ = proto::DotStuffer{};
    phase_ = Phase::Busy;
    stage_ = Stage::Mail;
    const bool reused = messages_ > 0;
    ++messages_;
    if (reused) {
        probing_ = true;
        send("RSET", Wait::Rset);
        return;
    }
    start_transaction();
}

void ClientConnection::start_transaction() {
    probing_ = false;
    const Envelope& env = job_->envelope;
    std::string mail = "MAIL FROM:" + env.sender;
    if (size_) mail += fmt::format(" SIZE={}", env.size());
    if (env.body_8bit && eightbit_) mail += " BODY=8BITMIME";
    if (env.smtputf8 && smtputf8_) mail += " SMTPUTF8";
    const bool dsn_given = !env.dsn_mail.empty() ||
                           std::any_of(env.dsn_rcpts.begin(), env.dsn_rcpts.end(), [](const std::string& x) { return !x.empty(); });
    if (dsn_ && dsn_given) mail += env.dsn_mail;
    else if (dsn_given)
        log_.info("next hop {} #{} does not offer DSN: the DSN parameters of {} are not passed on", config_.hop.describe(),
                  id_, env.id);
    if (!pipelining_) {
        send(std::move(mail), Wait::Mail);
        return;
    }
    // RFC 2920: MAIL and every RCPT in one write; the replies come back in the same order.
    std::string out = mail + "\r\n";
    log_.debug("next hop {} #{} > {}", config_.hop.describe(), id_, mail);
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        std::string line = rcpt_line(i);
        log_.debug("next hop {} #{} > {}", config_.hop.describe(), id_, line);
        out += line + "\r\n";
    }
    waits_.push_back(Wait::Mail);
    for (std::size_t i = 0; i < env.recipients.size(); ++i) waits_.push_back(Wait::Rcpt);
    next_rcpt_ = env.recipients.size();
    transport_->write(std::move(out));
    arm_timer();
}

std::string ClientConnection::rcpt_line(std::size_t i) const {
    const Envelope& env = job_->envelope;
    std::string line = "RCPT TO:" + env.recipients[i];
    if (dsn_ && i < env.dsn_rcpts.size()) line += env.dsn_rcpts[i];
    return line;
}

void ClientConnection::on_job_reply(Wait w, proto::Reply r) {
    const auto& rcpts = job_->envelope.recipients;
    switch (w) {
        case Wait::Rset:
            if (r.klass() != 2) {
                fail(Failure::Protocol, "next hop refused RSET on a reused connection: " + r.summary());
                return;
            }
            start_transaction();
            return;
        case Wait::Mail:
            if (r.klass() != 2) {
                mail_refusal_ = std::move(r);
                // Pipelined RCPTs are answered anyway (503 usually): read them to stay in step.
                if (!pipelining_) refuse(Stage::Mail, *mail_refusal_);
                return;
            }
            stage_ = Stage::Rcpt;
            if (!pipelining_) send(rcpt_line(next_rcpt_++), Wait::Rcpt);
            return;
        case Wait::Rcpt:
            stage_ = Stage::Rcpt;
            report_.rcpt_replies.push_back(std::move(r));
            // Every RCPT is sent even after a refusal: "all refused" and "some refused" differ.
            if (!pipelining_ && next_rcpt_ < rcpts.size()) {
                send(rcpt_line(next_rcpt_++), Wait::Rcpt);
                return;
            }
            if (report_.rcpt_replies.size() == rcpts.size()) after_recipients();
            return;
        case Wait::Data:
            if (r.code == 354) {
                start_body();
                return;
            }
            if (r.klass() == 2 || r.klass() == 3) {
                report_.refusal = r;
                fail(Failure::Protocol, "next hop answered DATA with " + r.summary() + " instead of 354");
                return;
            }
            refuse(Stage::Data, std::move(r));
            return;
        case Wait::Final:
            report_.final_replies.push_back(std::move(r));
            if (waits_.empty()) {
                report_.stage = Stage::Done;
                finish_job(ConnectionOwner::After::Reuse);
            }
            return;
        default:
            fail(Failure::Protocol, "reply stream out of step");
            return;
    }
}

void ClientConnection::after_recipients() {
    if (mail_refusal_) {
        refuse(Stage::Mail, *mail_refusal_);
        return;
    }
    for (const auto& r : report_.rcpt_replies) {
        if (r.klass() != 2) {
            refuse(Stage::Rcpt, r);
            return;
        }
    }
    if (!job_->wanted()) {
        report_.stage = Stage::Rcpt;
        report_.failure = Failure::Local;
        report_.error = "the client session ended before DATA";
        finish_job(ConnectionOwner::After::Reuse);
        return;
    }
    stage_ = Stage::Data;
    send("DATA", Wait::Data);
}

void ClientConnection::refuse(Stage s, proto::Reply r) {
    report_.stage = s;
    report_.refusal = std::move(r);
    finish_job(ConnectionOwner::After::Reuse);
}

void ClientConnection::fail(Failure kind, std::string error) {
    auto self = shared_from_this();
    log_.info("next hop {} #{}: {}", config_.hop.describe(), id_, error);
    const Phase was = phase_;
    if (was == Phase::Closed) return;
    if (was == Phase::Connecting || was == Phase::Setup) {
        close();
        DeliveryReport rep;
        rep.stage = stage_;
        rep.failure = kind;
        rep.error = std::move(error);
        rep.refusal = std::move(report_.refusal);
        rep.retry_plaintext = retry_plaintext_;
        owner_.connection_failed(*this, std::move(rep));
        return;
    }
    if (job_) {
        report_.failure = kind;
        report_.error = std::move(error);
        report_.stage = stage_;
        finish_job(probing_ ? ConnectionOwner::After::Retry : ConnectionOwner::After::Close);
        return;
    }
    close();
    owner_.connection_lost(*this);
}

void ClientConnection::abandon(std::string why) {
    auto self = shared_from_this();
    if (!job_) return;
    report_.failure = Failure::Timeout;
    report_.error = std::move(why);
    report_.stage = stage_;
    finish_job(ConnectionOwner::After::Close);
}

void ClientConnection::finish_job(ConnectionOwner::After after) {
    auto self = shared_from_this();
    probing_ = false;
    // Reuse only a connection whose reply stream is exactly in step and still open.
    if (after == ConnectionOwner::After::Reuse &&
        (closing_by_peer_ || parser_.buffered() > 0 || !waits_.empty() || !transport_ || transport_->closed()))
        after = ConnectionOwner::After::Close;
    DeliveryReport rep = std::move(report_);
    report_ = DeliveryReport{};
    job_.reset();
    chunk_.reset();
    if (after == ConnectionOwner::After::Reuse) {
        phase_ = Phase::Idle;
        enter_idle();
    } else {
        close();
    }
    owner_.job_finished(*this, std::move(rep), after);
}

void ClientConnection::quit() {
    phase_ = Phase::Closed;
    timer_.stop();
    waits_.clear();
    connecting_.reset();
    if (!transport_) return;
    transport_->set_listener(nullptr);
    transport_->write("QUIT\r\n");
    transport_->close_after_flush();
    transport_.reset();
}

void ClientConnection::close() {
    phase_ = Phase::Closed;
    connecting_.reset();
    drop_transport();
}

}  // namespace asmtpd::client
