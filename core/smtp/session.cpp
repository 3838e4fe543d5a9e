// session.cpp - the per-connection machine: input framing, phases, the reply choke point,
// timeouts, back-pressure and the one way out (close_session). Commands are in cmd_*.cpp.
#include "core/smtp/session.hpp"
#include "core/smtp/logging_tap.hpp"

#include <cctype>

#include "core/proto/proxy_header.hpp"
#include "core/smtp/command_table.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;   // client not reading our replies
constexpr std::size_t kMaxSpoolPending = 128 * 1024;   // disk slower than the client; bounds RAM per DATA
constexpr std::uint64_t kDrainGraceMs = 10000;         // last reply may take this long to leave
}  // namespace

Session::Session(uv_loop_t* loop, SessionOwner& owner, std::unique_ptr<io::Transport> transport,
                 proto::ConnectionInfo info, std::shared_ptr<const Runtime> runtime, const io::Logger& logger,
                 SessionOptions options)
    : loop_(loop),
      reactor_(loop),
      owner_(owner),
      metrics_(owner.metrics()),
      transport_(std::move(transport)),
      info_(std::move(info)),
      runtime_(std::move(runtime)),
      log_(&logger, info_.id),
      lines_(runtime_->settings.limits.line_length),
      options_(options),
      timeout_(loop),
      drain_timer_(loop),
      data_deadline_(loop),
      handshake_timer_(loop),
      dns_(owner.resolver()),
      state_(owner.state_store()) {
    chain_ = hooks::ChainRunner::create(reactor_, runtime_->registry, *this, log_);
    if (metrics_) {
        chain_->set_observer(metrics_);
        metrics_->session_opened();
    }
    if (runtime_->registry->has(hooks::Hook::Logging))
        log_ = io::Log(&logger, info_.id, {}, std::make_shared<LoggingTap>(chain_));
    transport_->set_listener(this);
}

Session::~Session() {
    chain_->cancel();
    transport_->set_listener(nullptr);
    // A transport already closing after a flush keeps lingering on its own (it must, or the
    // last reply can be lost to a reset); only one never closed is cut here.
    if (!transport_->closed()) transport_->close_now();
}

void Session::enter(Phase p) {
    if (p == phase_) return;
    if (!phase_transition_ok(phase_, p))
        log_.error("bug: phase {} -> {} not allowed", phase_name(phase_), phase_name(p));
    log_.debug("phase {} -> {}", phase_name(phase_), phase_name(p));
    phase_ = p;
}

void Session::start(std::optional<proto::Reply> refusal) {
    log_.info("connect from {}:{} to {}:{}", info_.remote_ip, info_.remote_port, info_.local_ip, info_.local_port);
    if (refusal) {
        reply(*refusal);
        close_session("refused: " + refusal->summary());
        return;
    }
    if (options_.proxy_protocol) {
        // Never guess whether a header is there: from an untrusted peer the connection is
        // refused outright, and nothing is sent before a complete, valid header.
        if (!runtime_->trusted_proxies.matches(info_.remote_ip)) {
            close_session("PROXY header expected from an untrusted address");
            return;
        }
        proxy_pending_ = true;
        timeout_.start(runtime_->settings.timeouts.proxy * 1000ull, [this] { close_session("no PROXY header in time"); });
        return;
    }
    if (options_.mode == ListenMode::Smtps) {
        start_tls(true);
        return;
    }
    begin_dialogue();
}

void Session::consume_proxy_header() {
    auto p = proto::parse_proxy_header(std::string_view(in_).substr(in_pos_));
    if (p.need_more()) return;
    timeout_.stop();
    if (p.failed()) {
        close_session("bad PROXY header: " + p.error);
        return;
    }
    in_pos_ += p.header.consumed;
    proxy_pending_ = false;
    if (!apply_proxy_header(p.header)) return;
    if (options_.mode == ListenMode::Smtps) {
        // Bytes after the header are the start of the TLS handshake, not session input.
        std::string early = in_.substr(in_pos_);
        in_.clear();
        in_pos_ = 0;
        start_tls(true);
        if (tls_ && !early.empty()) tls_->receive_ciphertext(early);
        return;
    }
    begin_dialogue();
}

bool Session::apply_proxy_header(const proto::ProxyHeader& h) {
    if (h.local) return true;   // a health check: the socket's own addresses stand
    std::string old_ip = info_.remote_ip;
    log_.info("PROXY v{}: client {}:{} (via {})", h.version, h.src_ip, h.src_port, old_ip);
    info_.remote_ip = h.src_ip;
    info_.remote_port = h.src_port;
    info_.local_ip = h.dst_ip;
    info_.local_port = h.dst_port;
    if (runtime_->client_env) {
        auto m = runtime_->client_env->lookup(info_.remote_ip);
        if (!m.allowed) {
            reply(554, "5.7.1", "Connection from you denied");
            close_session("tcp.env deny");
            return false;
        }
        info_.env = m.vars;
        if (info_.env.count("RELAYCLIENT")) info_.relay_client = true;
    }
    if (owner_.peer_changed(*this, old_ip)) {
        reply(421, "4.7.0", runtime_->facts.hostname + " Error: too many connections from your IP");
        close_session("too many connections from " + info_.remote_ip);
        return false;
    }
    return true;
}

void Session::begin_dialogue() {
    start_client_name();
    run_chain(hooks::Hook::PreConnection, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action == hooks::Action::RespondClose || d.action == hooks::Action::SilentClose) {
            handle_refusal(d);
            return;
        }
        run_chain(hooks::Hook::Connect, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d2) {
            if (d2.action == hooks::Action::Silent) {
                enter(Phase::Command);   // DONE: the plugin greeted (or chose not to)
                return;
            }
            if (d2.action == hooks::Action::Respond) {
                // A refusal that keeps the session (qmail-spp's [connection] E): its text is
                // the greeting and commands are read as usual.
                reply(d2.reply);
                enter(Phase::Command);
                return;
            }
            if (handle_refusal(d2)) return;
            greet();
        });
    });
}

void Session::greet() {
    const auto& s = runtime_->settings;
    std::string text = s.greeting.empty() ? "ESMTP asmtpd ready" : s.greeting;
    if (text.find("ESMTP") == std::string::npos) text += " ESMTP";
    enter(Phase::Command);
    reply(proto::Reply::make(220, "", runtime_->facts.hostname + " " + text));
}

void Session::shutdown(const proto::Reply& r) {
    if (phase_ >= Phase::Closing) return;
    reply(r);
    close_session("server shutting down");
}

// ---- input ---------------------------------------------------------------------------

void Session::on_read(std::string_view bytes) {
    if (phase_ >= Phase::Closing) return;
    if (metrics_) metrics_->bytes_received(bytes.size());
    in_.append(bytes);
    if (phase_ == Phase::Data) timeout_.start(runtime_->settings.timeouts.data * 1000ull, [this] {
        reply(421, "4.4.2", runtime_->facts.hostname + " Error: timeout exceeded");
        close_session("data timeout");
    });
    process_input();
}

void Session::on_eof() {
    eof_ = true;
    if (phase_ >= Phase::Closing) {
        finish_now();
        return;
    }
    // A command in flight (a queue hand-off, say) is allowed to finish first: the client may
    // only have closed its sending side after pipelining QUIT.
    if (!busy()) close_session("client closed connection");
}

void Session::on_drained() {
    if (phase_ == Phase::Closing) {
        finish_now();
        return;
    }
    update_reading();
}

void Session::process_input() {
    if (processing_) {
        reprocess_ = true;
        return;
    }
    processing_ = true;
    do {
        reprocess_ = false;
        while ((phase_ == Phase::Command || phase_ == Phase::Data || proxy_pending_) && !busy()) {
            if (proxy_pending_) {
                consume_proxy_header();
                if (proxy_pending_) break;
                continue;
            }
            if (phase_ == Phase::Data) {
                consume_data();
                if (phase_ == Phase::Data) break;   // need more input
                continue;
            }
            if (bdat_.pending) {
                consume_bdat();
                if (bdat_.pending && phase_ == Phase::Command) break;   // need more octets
                continue;
            }
            auto ev = lines_.next(std::string_view(in_).substr(in_pos_));
            in_pos_ += ev.consumed;
            if (ev.kind == proto::LineReader::Event::NeedMore) break;
            if (ev.kind == proto::LineReader::Event::TooLong) {
                if (auth_) {
                    auth_stop();
                    reply(proto::sasl_line_too_long());
                    continue;
                }
                reply(500, "5.5.2", "Error: line too long");
                continue;
            }
            std::string line(ev.line);
            dispatch_line(line);
        }
    } while (reprocess_ && phase_ < Phase::Closing);

    if (in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
    } else if (in_pos_ > 65536) {
        in_.erase(0, in_pos_);
        in_pos_ = 0;
    }
    processing_ = false;
    if (phase_ >= Phase::Closing) return;
    flush();
    if (eof_ && !busy()) {
        close_session("client closed connection");
        return;
    }
    arm_timeout();
    update_reading();
}

void Session::dispatch_line(std::string_view line) {
    timeout_.stop();
    ++commands_;
    if (line.find('\0') != std::string_view::npos) {
        // RFC 5321 §4.5.2 allows no NUL in commands; one place refuses it for every verb and
        // for AUTH responses, so no handler ever sees a line that C code would cut short.
        if (auth_) auth_stop();
        reply(501, "5.5.2", "Error: NUL character in command line");
        return;
    }
    if (auth_) {
        log_.debug("< (AUTH response)");
        auth_line(line);
        return;
    }
    proto::Command cmd = proto::parse_command(line);
    log_.debug("< {}", cmd.verb == "AUTH" ? std::string("AUTH ...") : std::string(line));
    CommandTable::dispatch(*this, cmd);
}

void Session::after_chain() { process_input(); }

void Session::arm_timeout() {
    if (phase_ >= Phase::Closing || busy()) {
        timeout_.stop();
        return;
    }
    if (phase_ == Phase::Data) return;   // re-armed on every read
    if (phase_ != Phase::Command || timeout_.active()) return;
    const auto& t = runtime_->settings.timeouts;
    unsigned secs = commands_ == 0 ? t.connect : t.command;
    timeout_.start(secs * 1000ull, [this] {
        reply(421, "4.4.2", runtime_->facts.hostname + " Error: timeout exceeded");
        close_session("command timeout");
    });
}

void Session::update_reading() {
    if (phase_ >= Phase::Closing) return;
    bool pause = unread_input() > runtime_->settings.limits.pipeline_bytes ||
                 transport_->queued_bytes() > kMaxQueuedOutput ||
                 ((phase_ == Phase::Data || bdat_open_) && txn_ && txn_->body &&
                  txn_->body->pending() > kMaxSpoolPending);
    if (pause == reading_paused_) return;
    reading_paused_ = pause;
    if (pause) {
        log_.debug("reading paused");
        paused_since_ms_ = uv_now(loop_);
        transport_->pause_reading();
    } else {
        if (phase_ == Phase::Data || bdat_open_) data_paused_ms_ += uv_now(loop_) - paused_since_ms_;
        transport_->resume_reading();
    }
}

// ---- output --------------------------------------------------------------------------

void Session::reply(int code, std::string_view esc, std::string_view text) {
    reply(proto::Reply::make(code, esc, text));
}

void Session::prefix_reply(std::string line) {
    if (line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) &&
        std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2])) &&
        (line[3] == '-' || line[3] == ' '))
        line.erase(0, 4);
    else if (line.size() == 3 && std::isdigit(static_cast<unsigned char>(line[0])))
        line.clear();
    reply_prefix_.push_back(std::move(line));
}

void Session::reply(const proto::Reply& given) {
    if (phase_ >= Phase::Closed) return;
    const proto::Reply* rp = &given;
    proto::Reply merged;
    if (!reply_prefix_.empty()) {
        merged = given;
        merged.lines.insert(merged.lines.begin(), reply_prefix_.begin(), reply_prefix_.end());
        reply_prefix_.clear();
        rp = &merged;
    }
    const proto::Reply& r = *rp;
    out_ += r.wire(true);
    if (metrics_) metrics_->reply(r.code);
    if (log_.enabled(io::Level::Debug)) log_.debug("> {}", r.summary());
    if (r.code >= 400 && r.code != 421 && phase_ < Phase::Closing) {
        ++errors_;
        info_.errors = errors_;
        const auto max = runtime_->settings.limits.max_errors;
        if (max > 0 && errors_ >= max) {
            out_ += proto::Reply::make(421, "4.7.0", runtime_->facts.hostname + " Error: too many errors").wire(true);
            if (metrics_) metrics_->reply(421);
            close_session("too many errors");
        }
    }
}

void Session::flush() {
    if (out_.empty() || transport_->closed()) return;
    transport_->write(std::move(out_));
    out_.clear();
}

// ---- chains --------------------------------------------------------------------------

void Session::run_chain(hooks::Hook h, hooks::HookArgs args,
                        std::function<void(const hooks::Verdict&, const hooks::Disposition&)> then) {
    timeout_.stop();
    RejectSubject subject = reject_subject(h, args);
    const std::uint64_t started = metrics_ ? uv_hrtime() : 0;
    chain_->run(h, std::move(args),
                [this, h, started, subject = std::move(subject), then = std::move(then)](hooks::Verdict v,
                                                                                          const hooks::Plugin* by) {
                    if (metrics_) metrics_->hook_done(h, v.result, uv_hrtime() - started);
                    if (phase_ >= Phase::Closing) return;
                    hooks::Disposition d = hooks::dispose(h, v);
                    log_verdict(h, v, d, by, subject);
                    then(v, d);
                    after_chain();
                });
}

// A refusal is one complete line: "reject: rcpt: [plugin] DENY 550 ... client_ip=... helo=...
// sender=<...> recipient=<...>" (fields in json and the journal). Other non-OK verdicts keep
// the short form.
void Session::log_verdict(hooks::Hook h, const hooks::Verdict& v, const hooks::Disposition& d,
                          const hooks::Plugin* by, const RejectSubject& subject) {
    const bool refused = d.action == hooks::Action::SilentClose ||
                         ((d.action == hooks::Action::Respond || d.action == hooks::Action::RespondClose) &&
                          d.reply.code >= 400);
    if (refused && log_.enabled(io::Level::Info)) {
        RejectFields f(subject, info_, txn_ ? &*txn_ : nullptr);
        log_.log_fields(io::Level::Info, f.fields(), "reject: {}: [{}] {} {}", hooks::hook_name(h),
                        by ? by->name() : std::string_view("default"), hooks::to_string(v.result),
                        d.action == hooks::Action::SilentClose ? std::string("(dropped without a reply)")
                                                               : d.reply.summary());
        return;
    }
    if (by && v.result != hooks::Result::Ok)
        log_.info("{}: [{}] {} {}", hooks::hook_name(h), by->name(), hooks::to_string(v.result), d.reply.summary());
}

bool Session::handle_refusal(const hooks::Disposition& d) {
    switch (d.action) {
        case hooks::Action::Proceed: return false;
        case hooks::Action::Respond: reply(d.reply); return true;
        case hooks::Action::RespondClose:
            reply(d.reply);
            close_session("denied: " + d.reply.summary());
            return true;
        case hooks::Action::Silent: return true;
        case hooks::Action::SilentClose: close_session("dropped by plugin"); return true;
    }
    return true;
}

void Session::refuse_transaction(const hooks::Disposition& d) {
    reset_transaction();
    handle_refusal(d);
}

void Session::run_on_cpu_thread(std::function<void()> work, std::function<void()> after) {
    owner_.cpu_thread().run(std::move(work), std::move(after));
}

void Session::post_to_cpu_thread(std::function<void()> work) { owner_.cpu_thread().post(std::move(work)); }

void Session::after(std::uint64_t ms, std::function<void()> fn) {
    if (phase_ >= Phase::Closing) return;
    plugin_timers_.push_back(std::make_unique<io::Timer>(loop_));
    auto it = std::prev(plugin_timers_.end());
    (*it)->start(ms, [this, it, fn = std::move(fn)] {
        auto f = fn;                // the timer (and this lambda) dies with the erase below
        plugin_timers_.erase(it);
        f();
    });
}

// ---- the way out ---------------------------------------------------------------------

void Session::close_session(std::string_view why) {
    if (phase_ >= Phase::Closing) return;
    log_.info("disconnect: {} ({} commands, {} errors)", why, commands_, errors_);
    if (metrics_) metrics_->session_closed(session_outcome(why));
    chain_->cancel();
    timeout_.stop();
    handshake_timer_.stop();
    data_deadline_.stop();
    waiting_for_ = Wait::Nothing;
    data_.reset();
    enter(Phase::Closing);
    if (txn_) {
        chain_->notify(hooks::Hook::ResetTransaction, hooks::ResetArgs{});
        txn_.reset();
    }
    chain_->notify(hooks::Hook::Disconnect, hooks::NoArgs{});
    chain_->notify(hooks::Hook::PostConnection, hooks::NoArgs{});
    plugin_timers_.clear();
    flush();
    transport_->pause_reading();
    if (eof_ || transport_->queued_bytes() == 0) {
        finish_now();
        return;
    }
    transport_->close_after_flush();
    drain_timer_.start(kDrainGraceMs, [this] { finish_now(); });
}

void Session::finish_now() {
    if (phase_ == Phase::Closed) return;
    if (phase_ < Phase::Closing) enter(Phase::Closing);
    drain_timer_.stop();
    enter(Phase::Closed);
    if (transport_->queued_bytes() == 0) transport_->close_after_flush();
    else transport_->close_now();
    if (!finished_reported_) {
        finished_reported_ = true;
        owner_.session_finished(*this);
    }
}

}  // namespace asmtpd::smtp
