// cmd_bdat.cpp - BDAT (CHUNKING, RFC 3030): the message as counted chunks instead of a
// dot-terminated DATA.
//
// Every BDAT's octets are read exactly, whatever happens to the command: a BDAT without a
// transaction, or one the data hook refuses, still consumes its N octets before its reply,
// so the next command parses normally (the length is the framing; nothing in a chunk is
// ever read as a command, and "\r\n.\r\n" inside a chunk is plain content). The first chunk
// of a transaction runs the data hook as DATA does; the chunks then go through the same
// decoder (raw mode: no dot-unstuffing, the bare_lf policy and the size, line and header
// limits as for DATA), spool, body observers and data_headers_end; "BDAT n LAST" ends the
// message and the same end-of-data path (data_post_headers ... queue, 250 after the queue)
// follows. DATA inside a BDAT transaction is refused (RFC 3030 §3.1); RSET ends it.
// BDAT is not a synchronisation point (RFC 3030 §4.2): pipelined commands after it are fine.
#include <charconv>

#include <fmt/format.h>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::uint64_t kMaxChunk = std::uint64_t{1} << 40;   // a size we can count; limits apply anyway

// "n" or "n LAST" (LAST case-insensitive); nullopt when malformed.
std::optional<std::pair<std::uint64_t, bool>> parse_bdat_args(std::string_view a) {
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
    const auto sp = a.find(' ');
    std::string_view num = a.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view() : a.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (num.empty() || num.size() > 13 || num.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    std::uint64_t n = 0;
    std::from_chars(num.data(), num.data() + num.size(), n);
    if (n > kMaxChunk) return std::nullopt;
    if (rest.empty()) return std::make_pair(n, false);
    if (rest.size() == 4 && (rest[0] | 0x20) == 'l' && (rest[1] | 0x20) == 'a' && (rest[2] | 0x20) == 's' &&
        (rest[3] | 0x20) == 't')
        return std::make_pair(n, true);
    return std::nullopt;
}

hooks::Disposition refusal(int code, const char* esc, std::string text) {
    return hooks::Disposition{hooks::Action::Respond, proto::Reply::make(code, esc, std::move(text))};
}
}  // namespace

void Session::cmd_bdat(const proto::Command& c) {
    auto args = parse_bdat_args(c.args);
    if (!args) {
        // Without a size the octets that follow cannot be told from commands: stop here.
        reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
        close_session("malformed BDAT");
        return;
    }
    bdat_ = Bdat{args->first, args->first, args->second, true, std::nullopt};
    if (bdat_open_) return;   // the next chunk of the open BDAT transaction
    if (info_.hello == proto::Hello::None) bdat_.refusal = refusal(503, "5.5.1", "Error: send HELO/EHLO first");
    else if (!txn_ || !txn_->sender) bdat_.refusal = refusal(503, "5.5.1", "Error: need MAIL command");
    else if (txn_->recipients.empty()) bdat_.refusal = refusal(503, "5.5.1", "Error: need RCPT command");
    if (bdat_.refusal) return;
    run_chain(hooks::Hook::Data, hooks::NoArgs{}, [this](const hooks::Verdict& v, const hooks::Disposition& d) {
        if (d.action != hooks::Action::Proceed) {
            if (!(v.keep_transaction && d.action == hooks::Action::Respond)) reset_transaction();
            bdat_.refusal = d;   // answered once this chunk's octets are read
            return;
        }
        begin_data(d.reply, true);
        bdat_open_ = true;
    });
}

void Session::consume_bdat() {
    const std::size_t avail = in_.size() - in_pos_;
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(avail, bdat_.remaining));
    if (take > 0) {
        const std::string_view piece(in_.data() + in_pos_, take);
        in_pos_ += take;
        bdat_.remaining -= take;
        timeout_.stop();   // progress: the idle timer starts again from here
        if (bdat_open_ && data_) {
            data_chunk_.clear();
            data_->feed(piece, data_chunk_);
            store_content();
            if (phase_ >= Phase::Closing) return;   // data_headers_end disconnected
        }
    }
    if (bdat_.remaining > 0) return;
    bdat_.pending = false;
    if (bdat_.refusal) {
        hooks::Disposition d = std::move(*bdat_.refusal);
        bdat_.refusal.reset();
        handle_refusal(d);
        return;
    }
    if (!bdat_open_ || !data_) return;
    if (!bdat_.last) {
        reply(250, "2.0.0", fmt::format("{} octets received", bdat_.size));
        return;
    }
    bdat_open_ = false;
    data_chunk_.clear();
    data_->end_chunks(data_chunk_);
    store_content();
    if (phase_ >= Phase::Closing || !data_) return;
    if (chain_->busy()) data_end_waits_ = true;   // data_headers_end still deciding
    else end_of_data();
}

}  // namespace asmtpd::smtp
