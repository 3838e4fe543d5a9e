// transaction.cpp - the header block put in front of a message body.
//
// Received and plugin headers (spp "H", spamassassin, ...) come from text the client or a
// plugin controlled. Whatever they hold, the prefix must stay a well-formed header block:
// every line ends in CRLF, no bare CR or LF survives, no empty line ends the header early,
// and a line that is not "Name: value" never starts a header (it would be read as body or
// glued to the header before it). Never trust the caller to have done this: every line goes
// through proto::append_header_field.
#include "hooks/transaction.hpp"

#include "core/proto/header_block.hpp"

namespace asmtpd::hooks {

std::string Transaction::header_prefix() const {
    std::string out;
    if (!received.empty()) proto::append_header_field(out, received);
    for (const auto& h : added_headers) proto::append_header_field(out, h);
    out += edited_headers;   // built by proto::apply_header_edits: already well-formed
    return out;
}

std::uint64_t Transaction::message_size() const {
    return header_prefix().size() + body_size();
}

std::uint64_t Transaction::body_size() const {
    const std::uint64_t total = body ? body->size() : 0;
    return total > body_offset ? total - body_offset : 0;
}

const std::vector<proto::EsmtpParam>* Transaction::params_of(const proto::Address& recipient) const {
    const std::string want = recipient.format();
    for (const auto& r : recipient_params)
        if (r.recipient.format() == want) return &r.params;
    return nullptr;
}

}  // namespace asmtpd::hooks
