// smtp_client_reply.hpp - reading a next hop's replies (the client side of RFC 5321 §4.2).
//
// Grammar (RFC 5321 §4.2, with RFC 2034 enhanced codes):
//   Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
//   Reply-code = %x32-35 %x30-35 %x30-39          ; 200..559, every line the same code
// Lenient where deployed servers are sloppy and it cannot change meaning: a bare LF ends a
// line too, and "250" alone (no space, no text) is a last line. Strict where it matters: a
// line that is not "DDD", "DDD text" or "DDD-text", or whose code differs from the first
// line's, makes the stream malformed, and so does a line over max_line or a reply over
// max_lines / max_bytes (a hostile next hop cannot make us buffer without bound).
// An enhanced status code ("5.1.1 ") at the start of the first line is moved into Reply::esc
// when its class matches the code; the same prefix is then removed from every line.
// Pure: no I/O, no logging. Malformed is sticky: the connection must be dropped, because the
// reply stream is out of step with our commands.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/proto/reply.hpp"

namespace asmtpd::proto {

struct ClientReplyLimits {
    std::size_t max_line = 4096;        // octets per line, CRLF included
    std::size_t max_lines = 256;        // lines in one reply (an EHLO reply has a dozen)
    std::size_t max_bytes = 64 * 1024;  // octets in one reply
};

class ClientReplyParser {
public:
    explicit ClientReplyParser(ClientReplyLimits limits = {}) : limits_(limits) {}

    enum class Status { NeedMore, Complete, Malformed };
    struct Event {
        Status status = Status::NeedMore;
        Reply reply;          // Complete: the reply
        std::string error;    // Malformed: why, for logs (no raw bytes beyond a short excerpt)
    };

    // Takes bytes from the next hop. Bytes after a malformed line are ignored.
    void feed(std::string_view bytes);
    // The next complete reply, NeedMore, or Malformed (from then on, always Malformed).
    Event next();

    // Bytes received but not yet returned as part of a reply (pipelined replies, partial line).
    std::size_t buffered() const { return buf_.size() - pos_; }
    bool malformed() const { return !error_.empty(); }
    // Forgets buffered input and a partial reply (not a Malformed state).
    void clear();

private:
    Event fail(std::string why);

    ClientReplyLimits limits_;
    std::string buf_;             // unparsed input from pos_
    std::size_t pos_ = 0;
    Reply partial_;               // lines of the reply being assembled (code 0 = none yet)
    std::size_t partial_bytes_ = 0;
    std::string error_;
};

// Splits "5.1.1 text" into esc and text when the esc is valid for code; else esc is empty
// and text is the whole line. Exposed for tests and for replies built by hand.
void split_esc(int code, std::string_view line, std::string& esc, std::string& text);

}  // namespace asmtpd::proto
