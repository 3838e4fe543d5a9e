// cmd_data.cpp - DATA: the data hook, streaming the content through the decoder into the
// spool, then data_post -> header edits (header_edits.cpp) -> queue_pre -> queue. 250 is sent only when a queue plugin said OK,
// i.e. the backend has durably taken the message (DESIGN.md §6, RELIABILITY P1/P2).
//
// Never: queue a message whose DATA had a bare CR/LF (Reject policy), exceeded databytes, or
// was cut short; run client bytes sent before 354 as commands (transaction stuffing).
#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/proto/cidr.hpp"
#include "core/smtp/received.hpp"
#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {
proto::BareLfPolicy policy_for(const Runtime& rt, const std::string& ip) {
    if (rt.settings.bare_lf != proto::BareLfPolicy::Normalize) return proto::BareLfPolicy::Reject;
    if (rt.normalize_from.empty() || rt.normalize_from.matches(ip)) return proto::BareLfPolicy::Normalize;
    return proto::BareLfPolicy::Reject;
}
}  // namespace

void Session::cmd_data(const proto::Command&) {
    if (bdat_open_) {
        refuse_data(proto::Reply::make(503, "5.5.1", "Error: DATA inside a BDAT transaction"));
        return;
    }
    run_chain(hooks::Hook::Data, hooks::NoArgs{}, [this](const hooks::Verdict& v, const hooks::Disposition& d) {
        if (data_sync_violated()) return;
        if (d.action != hooks::Action::Proceed) {
            // qmail keeps the transaction after a refused DATA (greylisting at [data]): the
            // client may add recipients or try DATA again.
            if (!(v.keep_transaction && d.action == hooks::Action::Respond)) reset_transaction();
            handle_refusal(d);
            return;
        }
        begin_data(d.reply);
    });
}

// RFC 2920 §3.1: DATA ends a pipelined group, so input already behind it was sent before the
// client could see our answer. Whether DATA is accepted or refused, those bytes are message
// content (a client pipelining its body) and must never run as commands: a refused DATA
// followed by "RSET / MAIL / RCPT / DATA" in the same flight would otherwise smuggle a
// transaction out of a message body.
bool Session::data_sync_violated() {
    if (unread_input() == 0) return false;
    reply(554, "5.5.0", "Error: SMTP protocol synchronization");
    close_session("input pipelined after DATA");
    return true;
}

void Session::refuse_data(const proto::Reply& r) {
    if (data_sync_violated()) return;
    reply(r);
}

void Session::begin_data(const proto::Reply& go_ahead, bool chunked) {
    const auto& s = runtime_->settings;
    proto::DataLimits limits;
    limits.max_bytes = s.limits.databytes > 0 ? s.limits.databytes : UINT64_MAX;
    limits.max_line = s.limits.data_line_length;
    limits.bare_lf = policy_for(*runtime_, peer_ip());   // the bytes come from the peer, not an XFORWARD client
    limits.dot_stuffed = !chunked;
    data_policy_ = limits.bare_lf;
    data_.emplace(limits);
    headers_.emplace(proto::HeaderLimits{.max_bytes = s.limits.header_bytes, .max_lines = s.limits.header_lines});
    headers_end_ran_ = false;
    data_end_waits_ = false;
    headers_end_refusal_.reset();
    txn_->body = io::Spool::create(loop_, s.spool_dir, s.limits.memory_spool);
    txn_->body->on_drained([this, alive = std::weak_ptr<const void>(alive_)] {
        if (alive.expired()) return;
        update_reading();
    });
    if (!chunked) {
        enter(Phase::Data);
        reply(go_ahead);
        timeout_.start(s.timeouts.data * 1000ull, [this] {
            reply(421, "4.4.2", runtime_->facts.hostname + " Error: timeout exceeded");
            close_session("data timeout");
        });
    }
    data_started_ms_ = uv_now(loop_);
    data_paused_ms_ = 0;
    check_data_pace();
}

// Every read restarts the idle timer, so a client trickling a byte at a time would hold its
// session and spool file for ever without these two: a deadline for the whole of DATA, and,
// after a grace period, an average rate since 354. Time we paused reading ourselves (the
// spool behind) is not held against the client.
void Session::check_data_pace() {
    const auto& s = runtime_->settings;
    const std::uint64_t grace_ms = s.timeouts.data_grace * 1000ull;
    const std::uint64_t now = uv_now(loop_);
    const std::uint64_t total_deadline = data_started_ms_ + s.timeouts.data_total * 1000ull;
    if (now >= total_deadline) {
        reply(421, "4.4.2", runtime_->facts.hostname + " Error: DATA took too long");
        close_session("data total timeout");
        return;
    }
    std::uint64_t next = total_deadline;
    const std::uint64_t rate = s.limits.data_min_rate;
    if (rate > 0 && !reading_paused_) {
        const std::uint64_t active_ms = now - data_started_ms_ - std::min(data_paused_ms_, now - data_started_ms_);
        const std::uint64_t bytes = data_ ? data_->size() : 0;
        // The client is on pace while bytes >= rate * active time (after the grace period).
        const std::uint64_t earned_ms = std::max(grace_ms, bytes * 1000 / rate);
        if (active_ms > earned_ms) {
            log_.info("DATA too slow: {} bytes in {} ms (limits.data_min_rate {} B/s)", bytes, active_ms, rate);
            reply(421, "4.4.2", runtime_->facts.hostname + " Error: DATA too slow");
            close_session("data below minimum rate");
            return;
        }
        next = std::min(next, now + std::max<std::uint64_t>(earned_ms - active_ms, 1000));
    } else if (rate > 0) {
        next = std::min(next, now + 1000);
    }
    data_deadline_.start(next - now, [this] { check_data_pace(); });
}

void Session::consume_data() {
    data_chunk_.clear();
    std::size_t used = data_->feed(std::string_view(in_).substr(in_pos_), data_chunk_);
    in_pos_ += used;
    store_content();
    if (phase_ != Phase::Data || !data_) return;   // data_headers_end closed the session
    if (data_->done()) {
        if (chain_->busy()) data_end_waits_ = true;   // data_headers_end still deciding
        else end_of_data();
    }
}

void Session::store_content() {
    if (!data_chunk_.empty() && txn_ && txn_->body) {
        txn_->body->append(data_chunk_);
        for (const auto& o : txn_->body_observers) o->content(data_chunk_);
    }
    if (!data_chunk_.empty() && headers_ && !headers_->ended()) {
        headers_->feed(data_chunk_);
        if (headers_->ended() && txn_) txn_->header_bytes = headers_->bytes();
        if (headers_->ended() && !headers_end_ran_) run_headers_end();
    }
}

// qpsmtpd's data_headers_end: the header block is complete and the client still sends the
// body. A _DISCONNECT answer ends the session now; DENY/DENYSOFT are kept for the final dot,
// since a reply in the middle of DATA would be read as message content by the client.
void Session::run_headers_end() {
    headers_end_ran_ = true;
    if (!runtime_->registry->has(hooks::Hook::DataHeadersEnd)) return;
    run_chain(hooks::Hook::DataHeadersEnd, hooks::NoArgs{},
              [this](const hooks::Verdict&, const hooks::Disposition& d) {
                  if (d.action == hooks::Action::RespondClose || d.action == hooks::Action::SilentClose) {
                      refuse_transaction(d);
                      return;
                  }
                  if (d.action == hooks::Action::Respond) headers_end_refusal_ = d.reply;
                  if (data_end_waits_) {
                      data_end_waits_ = false;
                      end_of_data();
                  }
              });
}

void Session::end_of_data() {
    if (!headers_end_ran_) {   // no blank line: the header block ends with the data (qpsmtpd)
        run_headers_end();
        if (phase_ >= Phase::Closing || !data_) return;   // it closed the session
        if (chain_->busy()) {
            data_end_waits_ = true;
            return;
        }
    }
    timeout_.stop();
    data_deadline_.stop();
    enter(Phase::Command);
    proto::DataDecoder d = *data_;
    data_.reset();
    const bool header_too_big = headers_ && headers_->too_big();
    if (headers_ && txn_) txn_->header_bytes = headers_->bytes();   // also when no empty line ended it
    headers_.reset();
    if (d.bare_line_ending() && data_policy_ == proto::BareLfPolicy::Reject) {
        reset_transaction();
        reply(554, "5.5.2", "Error: bare <CR> or <LF> in message data; message refused");
        close_session("bare CR/LF in DATA");
        return;
    }
    if (d.too_big()) {
        reset_transaction();
        reply(552, "5.3.4", "Error: message too big");
        return;
    }
    if (header_too_big) {
        reset_transaction();
        reply(552, "5.3.4", "Error: message header size exceeds limit");
        return;
    }
    if (d.line_too_long()) {
        reset_transaction();
        reply(500, "5.5.2", "Error: message line too long");
        return;
    }
    if (txn_)
        for (const auto& o : txn_->body_observers) o->end();
    if (headers_end_refusal_) {
        proto::Reply r = std::move(*headers_end_refusal_);
        headers_end_refusal_.reset();
        reset_transaction();
        reply(r);
        return;
    }
    waiting_for_ = Wait::Spool;
    txn_->body->finish([this, alive = std::weak_ptr<const void>(alive_)](bool ok) {
        if (alive.expired() || phase_ >= Phase::Closing || waiting_for_ != Wait::Spool) return;
        waiting_for_ = Wait::Nothing;
        if (!ok || !txn_) {
            finish_transaction(proto::Reply::make(451, "4.3.0", "Error: could not spool message; try again later"));
            after_chain();
            return;
        }
        // The Received header names the client by its checked reverse name; the lookup started
        // at connect and is nearly always done by now (else this waits, bounded by dns.timeout).
        waiting_for_ = Wait::ClientName;
        with_client_name([this] {
            if (phase_ >= Phase::Closing || waiting_for_ != Wait::ClientName || !txn_) return;
            waiting_for_ = Wait::Nothing;
            run_data_post_headers();
            after_chain();
        });
    });
}

// qpsmtpd's order after the dot: data_post_headers (authentication results: SPF, DKIM, DMARC
// add their headers), then the Received line (received_line may replace it), then data_post.
void Session::run_data_post_headers() {
    if (!runtime_->registry->has(hooks::Hook::DataPostHeaders)) return run_received_line();
    run_chain(hooks::Hook::DataPostHeaders, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            refuse_transaction(d);
            return;
        }
        run_received_line();
    });
}

void Session::run_received_line() {
    if (!txn_) return;
    const std::string_view fwd_proto = xforward_ ? std::string_view(xforward_->proto) : std::string_view();
    std::string standard = received_header(info_, *txn_, runtime_->facts.hostname, std::time(nullptr), fwd_proto);
    if (!runtime_->registry->has(hooks::Hook::ReceivedLine)) {
        txn_->received = std::move(standard);
        run_data_post();
        return;
    }
    hooks::ReceivedArgs args{received_protocol(info_, fwd_proto), info_.auth_user.empty() ? "" : "(" + info_.auth_user + ")",
                             info_.tls ? info_.tls_version + " " + info_.tls_cipher : "", standard};
    run_chain(hooks::Hook::ReceivedLine, std::move(args),
              [this, standard](const hooks::Verdict& v, const hooks::Disposition&) {
                  if (!txn_) return;
                  const bool replaced = v.result == hooks::Result::Ok && !v.text.empty();
                  txn_->received = replaced ? received_from_plugin(v.text) : standard;
                  run_data_post();
              });
}

void Session::run_data_post() {
    run_chain(hooks::Hook::DataPost, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            refuse_transaction(d);
            return;
        }
        run_header_edits();
    });
}

void Session::run_queue() {
    run_chain(hooks::Hook::QueuePre, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            refuse_transaction(d);
            return;
        }
        run_chain(hooks::Hook::Queue, hooks::NoArgs{}, [this](const hooks::Verdict& v, const hooks::Disposition& d2) {
            chain_->notify(hooks::Hook::QueuePost, hooks::OutcomeArgs{hooks::Hook::Queue, {}, v});
            if (metrics_)
                metrics_->queue_outcome(d2.action == hooks::Action::Proceed ? QueueOutcome::Queued
                                        : d2.reply.code >= 500                ? QueueOutcome::Rejected
                                                                              : QueueOutcome::Deferred);
            if (d2.action == hooks::Action::Proceed) {
                // The queue row's 250 2.0.0; its text names our id when the backend gave none.
                proto::Reply queued = d2.reply;
                if (v.text.empty() && !v.reply) queued.lines = {fmt::format("Queued as {}", txn_ ? txn_->id : "")};
                log_.info("queued: {} ({} bytes, {} recipients)", queued.summary(), txn_ ? txn_->message_size() : 0,
                          txn_ ? txn_->recipients.size() : 0);
                finish_transaction(queued);
                return;
            }
            refuse_transaction(d2);
        });
    });
}

void Session::finish_transaction(const proto::Reply& r) {
    reset_transaction();
    reply(r);
}

}  // namespace asmtpd::smtp
