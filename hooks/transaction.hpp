// transaction.hpp - one mail transaction: MAIL to the end of queueing, or RSET.
//
// Owned by the session; plugins see it through Context::transaction() (null when no MAIL has
// been accepted). The body is shared so that a backend working off the loop thread keeps it
// alive even if the client disconnects meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/spool.hpp"
#include "core/proto/address.hpp"
#include "core/proto/command.hpp"
#include "core/proto/header_edit.hpp"
#include "hooks/notes.hpp"

namespace asmtpd::hooks {

// Sees the message content as it arrives, for checks that must not re-read the spool (a DKIM
// body hash, a size or charset meter). Attach one to ctx.transaction()->body_observers at the
// mail, rcpt or data hook (before the 354). Called on the loop thread: keep each call cheap,
// never block. Observers live as long as the transaction.
class BodyObserver {
public:
    virtual ~BodyObserver() = default;
    // The next bytes of the content: dot-unstuffed, CRLF line ends, header block included, in
    // order, in chunks of any size.
    virtual void content(std::string_view bytes) = 0;
    // The final dot: the content is complete. Not called when DATA is cut short or refused for
    // its form (bare LF, size, line length).
    virtual void end() = 0;
};

// The ESMTP parameters an accepted recipient came with (DSN's NOTIFY and ORCPT, validated by
// the session with core/proto/dsn.hpp), by the recipient as stored (after RELAYCLIENT and
// rcpt_post rewrites).
struct RecipientParams {
    proto::Address recipient;
    std::vector<proto::EsmtpParam> params;
};

struct Transaction {
    std::uint64_t number = 0;                    // 1, 2, ... within the session
    std::string id;                              // "<session>.<number>", used as queue id seed
    std::optional<proto::Address> sender;        // set once the mail hook accepted it
    std::vector<proto::EsmtpParam> mail_params;
    std::vector<proto::Address> recipients;      // accepted ones, in order
    // Parameters of the recipients that had any, in order. Kept beside `recipients` so that
    // plugins adding or dropping recipients (milter) need not know them: a recipient without
    // an entry has none; an entry whose recipient was dropped is never used.
    std::vector<RecipientParams> recipient_params;
    Notes notes;
    std::string received;                        // "Received: ...\r\n" block (set after DATA)
    std::vector<std::string> added_headers;      // "Name: value" lines, go after Received
    std::shared_ptr<io::Spool> body;             // content after dot-unstuffing; null before DATA
    std::vector<std::shared_ptr<BodyObserver>> body_observers;   // fed as the content arrives

    // The message's own header block is the first header_bytes of body (without the empty
    // line that ends it); set by the session when it sees that line, or the end of data.
    std::uint64_t header_bytes = 0;
    // Edits to that block (proto::HeaderEdit: delete, rename, change, insert by name and
    // occurrence), in order. Add them up to data_post; the session applies them once, after
    // data_post and before queue_pre: it reads the block from the spool, stores the result in
    // edited_headers and sets body_offset = header_bytes. Edits added later are ignored.
    std::vector<proto::HeaderEdit> header_edits;
    std::string edited_headers;                  // the edited block, CRLF lines (after the edits)
    std::uint64_t body_offset = 0;               // where the rest of the message starts in body

    // Everything to put in front of the body: Received, then plugin headers, then the edited
    // header block when edits were applied, CRLF-terminated. A reader of the whole message
    // sends header_prefix(), then body from body_offset (never from 0).
    std::string header_prefix() const;
    // Size of header_prefix() + the body from body_offset.
    std::uint64_t message_size() const;
    // Bytes of body from body_offset on.
    std::uint64_t body_size() const;
    // The parameters the recipient came with (the first entry whose address formats the
    // same); null when none.
    const std::vector<proto::EsmtpParam>* params_of(const proto::Address& recipient) const;
};

}  // namespace asmtpd::hooks
