// header_edits.cpp - the plugins' edits to the message's own header block (hooks::Transaction
// header_edits), applied once between data_post and queue_pre.
//
// Without edits nothing is read and nothing changes: the backends send header_prefix() and
// the spool from 0. With edits the block (the first header_bytes of the spool, bounded by
// limits.header_bytes) is read back, edited by proto::apply_header_edits, kept in
// edited_headers, and body_offset skips the original; every reader of the message then sends
// header_prefix() (which ends with the edited block) and the spool from body_offset.
// Never: queue a message whose block could not be read (451, the client retries), or let a
// read that completes after the session moved on touch the transaction.
#include <algorithm>

#include "core/proto/header_edit.hpp"
#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

void Session::run_header_edits() {
    if (!txn_ || txn_->header_edits.empty()) return run_queue();
    if (!txn_->body || txn_->body->failed()) {
        finish_transaction(proto::Reply::make(451, "4.3.0", "Error: could not spool message; try again later"));
        return;
    }
    waiting_for_ = Wait::HeaderBlock;
    read_header_block({});
}

// Spool reads may come back short (a file read is capped): ask again until the block is whole.
void Session::read_header_block(std::string block) {
    const std::uint64_t want = std::min(txn_->header_bytes, txn_->body->size());
    if (block.size() >= want) return edit_header_block(std::move(block));
    auto done = [this, alive = std::weak_ptr<const void>(alive_), block = std::move(block)](bool ok,
                                                                                           std::string data) mutable {
        if (alive.expired() || phase_ >= Phase::Closing || waiting_for_ != Wait::HeaderBlock || !txn_) return;
        if (!ok || data.empty()) {
            waiting_for_ = Wait::Nothing;
            log_.error("header edits: reading the header block from the spool failed at offset {}", block.size());
            finish_transaction(proto::Reply::make(451, "4.3.0", "Error: could not read message; try again later"));
            after_chain();
            return;
        }
        block += data;
        read_header_block(std::move(block));
    };
    const std::uint64_t off = block.size();
    txn_->body->read_async(off, static_cast<std::size_t>(want - off), std::move(done));
}

void Session::edit_header_block(std::string block) {
    waiting_for_ = Wait::Nothing;
    txn_->edited_headers = proto::apply_header_edits(block, txn_->header_edits);
    txn_->body_offset = block.size();
    log_.debug("header edits: {} applied, header block {} -> {} bytes", txn_->header_edits.size(), block.size(),
               txn_->edited_headers.size());
    run_queue();
    after_chain();   // a read that completed later: the session was holding input back
}

}  // namespace asmtpd::smtp
