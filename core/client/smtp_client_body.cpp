// smtp_client_body.cpp - ClientConnection's message transfer: the header prefix and the spool,
// dot-stuffed, in 64 KiB pieces from the envelope's body_offset, then the final dot (see
// smtp_client.hpp).
//
// Must never: read the next spool piece while more than kLowWater bytes wait in the socket's
// queue (memory stays flat for a message of any size), send fewer octets than the spool holds,
// or send the final dot for a job that is no longer wanted. A spool read completes either
// inside pump() (memory spool, settled file) or later from libuv; both land in chunk_, and only
// the outermost pump() loops, so neither recursion nor a lost piece is possible.
#include <fmt/format.h>

#include "core/client/smtp_client.hpp"

namespace asmtpd::client {

namespace {

constexpr std::size_t kChunk = 64 * 1024;      // one spool read
constexpr std::size_t kLowWater = 64 * 1024;   // read the next piece when less is queued

}  // namespace

void ClientConnection::start_body() {
    phase_ = Phase::Body;
    stage_ = Stage::Body;
    timer_.stop();
    std::string out;
    stuffer_.feed(job_->envelope.header_prefix, out);
    if (!out.empty()) transport_->write(std::move(out));
    pump();
}

void ClientConnection::pump() {
    if (phase_ != Phase::Body || in_pump_) return;
    in_pump_ = true;
    const auto& body = job_->envelope.body;
    std::string out;
    while (phase_ == Phase::Body && transport_ && transport_->queued_bytes() < kLowWater && !reading_) {
        if (body_read_failed_) {
            in_pump_ = false;
            fail(Failure::Local, "reading the message from the spool failed");
            return;
        }
        std::string_view piece;
        std::string held;
        bool end = false;
        if (chunk_) {
            held = std::move(*chunk_);
            chunk_.reset();
            piece = held;
            end = held.empty();
        } else if (!body || body_off_ >= body->size()) {
            end = true;
        } else if (!body->in_file()) {
            piece = std::string_view(body->memory()).substr(body_off_, kChunk);
            end = piece.empty();
        } else {
            reading_ = true;
            std::weak_ptr<ClientConnection> weak = weak_from_this();
            std::weak_ptr<DeliveryJob> for_job = job_;
            body->read_async(body_off_, kChunk, [weak, for_job](bool ok, std::string data) {
                auto me = weak.lock();
                if (!me || me->job_ != for_job.lock() || me->phase_ != Phase::Body) return;
                me->reading_ = false;
                if (!ok) me->body_read_failed_ = true;
                else me->chunk_ = std::move(data);
                if (!me->in_pump_) me->pump();   // else the loop in pump() picks it up
            });
            continue;
        }
        if (end) {
            in_pump_ = false;
            end_body();
            return;
        }
        body_off_ += piece.size();
        out.clear();
        stuffer_.feed(piece, out);
        transport_->write(std::move(out));
    }
    in_pump_ = false;
    if (phase_ != Phase::Body) return;
    if (body_read_failed_) {
        fail(Failure::Local, "reading the message from the spool failed");
        return;
    }
    // Waiting for the socket to drain (or for the spool): no progress in time is a failure.
    std::weak_ptr<ClientConnection> weak = weak_from_this();
    timer_.start(config_.limits.command_ms, [weak] {
        if (auto me = weak.lock()) me->on_timeout();
    });
}

void ClientConnection::end_body() {
    const auto& body = job_->envelope.body;
    if (body && body_off_ != body->size()) {
        fail(Failure::Local, fmt::format("the spool ended at offset {} of {} octets", body_off_, body->size()));
        return;
    }
    if (!job_->wanted()) {
        // Without the dot the next hop discards the message: nobody would learn of a delivery.
        report_.failure = Failure::Local;
        report_.error = "the client session ended during the transfer; message not completed";
        report_.stage = Stage::Body;
        finish_job(ConnectionOwner::After::Close);
        return;
    }
    std::string out;
    stuffer_.finish(out);
    transport_->write(std::move(out));
    log_.debug("next hop {} #{} > (message, {} octets) .", config_.hop.describe(), id_, job_->envelope.size());
    report_.dot_sent = true;
    phase_ = Phase::Busy;
    stage_ = Stage::DataEnd;
    const std::size_t n = config_.protocol == NextHopProtocol::Lmtp ? job_->envelope.recipients.size() : 1;
    for (std::size_t i = 0; i < n; ++i) waits_.push_back(Wait::Final);
    arm_timer();
}

}  // namespace asmtpd::client
