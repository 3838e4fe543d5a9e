// mime_text.hpp - the decoded text of a message's MIME parts, through GMime (Debian's
// libgmime-3.0), for checks that read what a reader sees (the uribl plugin's URI scan).
//
// Every leaf part whose Content-Type is text/* (a message without one is text/plain, RFC 2045
// §5.2), in multiparts and in attached message/rfc822 parts (nesting at most kMaxDepth), has
// its Content-Transfer-Encoding undone (base64, quoted-printable, uuencode) and is appended to
// `text`, parts separated by a newline. Charsets are not converted: the bytes are what the part
// holds once decoded. The header block is not part of the result.
// CPU only, no file or socket: it may run on any thread, several at once (each call has its
// own GMime objects; GMime's one-time set-up runs once, guarded). Meant for the thread pool:
// a large message takes milliseconds. The input is bounded by the caller; the output is never
// larger than max_output (the rest is dropped and `truncated` set).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace asmtpd::io {

struct MimeText {
    std::string text;          // the decoded text parts
    std::size_t parts = 0;     // how many text parts were decoded
    std::size_t leaves = 0;    // how many leaf parts the message has in all
    bool truncated = false;    // max_output reached
};

inline constexpr int kMaxMimeDepth = 20;

MimeText mime_text_parts(std::string_view message, std::size_t max_output);

}  // namespace asmtpd::io
