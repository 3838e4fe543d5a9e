// cmd_data.cpp - DATA: the data hook, streaming the content through the decoder into the
// spool, then data_post -> queue_pre -> queue. 250 is sent only when a queue plugin said OK,
// i.e. the backend has durably taken the message (DESIGN.md §6, RELIABILITY P1/P2).
//
// Never: queue a message whose DATA had a bare CR/LF (Reject policy), exceeded databytes, or
// was cut short; run client bytes sent before 354 as commands (transaction stuffing).
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

void Session::cmd_data(const proto::Command& c) {
    if (!c.args.empty()) {
        reply(501, "5.5.4", "Syntax: DATA");
        return;
    }
    if (!txn_ || !txn_->sender) {
        reply(503, "5.5.1", "Error: need MAIL command");
        return;
    }
    if (txn_->recipients.empty()) {
        reply(503, "5.5.1", "Error: need RCPT command");
        return;
    }
    run_chain(hooks::Hook::Data, {}, [this](const hooks::Verdict& v, const hooks::Disposition& d) {
        // RFC 2920: DATA ends a pipelined group; anything already sent is content sent before
        // our 354 (or after a refusal) and must never be read as commands.
        if (unread_input() > 0) {
            reply(554, "5.5.0", "Error: SMTP protocol synchronization");
            close_session("data sent before 354");
            return;
        }
        if (d.action != hooks::Action::Proceed) {
            // qmail keeps the transaction after a refused DATA (greylisting at [data]): the
            // client may add recipients or try DATA again.
            if (!(v.keep_transaction && d.action == hooks::Action::Respond)) reset_transaction();
            handle_refusal(d);
            return;
        }
        begin_data();
    });
}

void Session::begin_data() {
    const auto& s = runtime_->settings;
    proto::DataLimits limits;
    limits.max_bytes = s.limits.databytes > 0 ? s.limits.databytes : UINT64_MAX;
    limits.max_line = s.limits.data_line_length;
    limits.bare_lf = policy_for(*runtime_, info_.remote_ip);
    data_policy_ = limits.bare_lf;
    data_.emplace(limits);
    txn_->body = io::Spool::create(loop_, s.spool_dir, s.limits.memory_spool);
    txn_->body->on_drained([this, alive = std::weak_ptr<const void>(alive_)] {
        if (alive.expired()) return;
        update_reading();
    });
    enter(Phase::Data);
    reply(354, "", "End data with <CR><LF>.<CR><LF>");
    timeout_.start(s.timeouts.data * 1000ull, [this] {
        reply(421, "4.4.2", runtime_->facts.hostname + " Error: timeout exceeded");
        close_session("data timeout");
    });
}

void Session::consume_data() {
    data_chunk_.clear();
    std::size_t used = data_->feed(std::string_view(in_).substr(in_pos_), data_chunk_);
    in_pos_ += used;
    if (!data_chunk_.empty() && txn_ && txn_->body) txn_->body->append(data_chunk_);
    if (data_->done()) end_of_data();
}

void Session::end_of_data() {
    timeout_.stop();
    enter(Phase::Command);
    proto::DataDecoder d = *data_;
    data_.reset();
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
    if (d.line_too_long()) {
        reset_transaction();
        reply(500, "5.5.2", "Error: message line too long");
        return;
    }
    awaiting_ = true;
    txn_->body->finish([this, alive = std::weak_ptr<const void>(alive_)](bool ok) {
        if (alive.expired() || phase_ >= Phase::Closing || !awaiting_) return;
        awaiting_ = false;
        if (!ok || !txn_) {
            finish_transaction(proto::Reply::make(451, "4.3.0", "Error: could not spool message; try again later"));
            after_chain();
            return;
        }
        // The Received header names the client by its checked reverse name; the lookup started
        // at connect and is nearly always done by now (else this waits, bounded by dns.timeout).
        awaiting_ = true;
        with_client_name([this] {
            if (phase_ >= Phase::Closing || !awaiting_ || !txn_) return;
            awaiting_ = false;
            txn_->received = received_header(info_, *txn_, runtime_->facts.hostname, std::time(nullptr));
            run_data_post();
            after_chain();
        });
    });
}

void Session::run_data_post() {
    run_chain(hooks::Hook::DataPost, {}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            reset_transaction();
            handle_refusal(d);
            return;
        }
        run_queue();
    });
}

void Session::run_queue() {
    run_chain(hooks::Hook::QueuePre, {}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            reset_transaction();
            handle_refusal(d);
            return;
        }
        run_chain(hooks::Hook::Queue, {}, [this](const hooks::Verdict& v, const hooks::Disposition& d2) {
            hooks::HookArgs post;
            post.prior = v;
            chain_->notify(hooks::Hook::QueuePost, post);
            if (d2.action == hooks::Action::Proceed) {
                std::string text = v.text.empty() ? fmt::format("Queued as {}", txn_ ? txn_->id : "") : v.text;
                log_.info("queued: {} ({} bytes, {} recipients)", text, txn_ ? txn_->message_size() : 0,
                          txn_ ? txn_->recipients.size() : 0);
                finish_transaction(proto::Reply::make(250, "2.0.0", text));
                return;
            }
            reset_transaction();
            handle_refusal(d2);
        });
    });
}

void Session::finish_transaction(const proto::Reply& r) {
    reset_transaction();
    reply(r);
}

}  // namespace asmtpd::smtp
