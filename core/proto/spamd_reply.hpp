// spamd_reply.hpp - reading spamd's answer to a SPAMC/1.5 request (SpamAssassin's spamd/PROTOCOL)
// and the X-Spam-* header fields it carries.
//
// Grammar (what spamd 3.x/4.x sends; the request is ours, so only the reply is parsed):
//   reply        = status-line *( field CRLF ) CRLF body
//   status-line  = "SPAMD/" 1*DIGIT "." 1*DIGIT SP code SP message CRLF   ; code 0 = EX_OK
//   field        = name ":" *SP value          ; Content-length, Spam, ... (names case-insensitive)
//   spam-value   = ( "True" / "False" / "Yes" / "No" ) *SP ";" *SP score *SP "/" *SP threshold
//   score        = [ "-" ] 1*DIGIT [ "." 1*DIGIT ]
//   body         = Content-length octets (HEADERS: the message's header block as spamd would
//                  write it; SYMBOLS: the test names, comma-separated)
// A bare LF ends a line too. An error reply (code != 0, e.g. "SPAMD/1.0 76 Bad header line")
// parses as a reply with that code and no verdict. Anything else is an error, with a short
// reason for the log: the caller treats it like spamd being down.
// Pure: no I/O, no logging. Never reads past the input; sizes are the caller's to cap.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct SpamdReply {
    std::string version;        // "1.1"
    int code = 0;               // sysexits value, 0 = EX_OK
    std::string message;        // "EX_OK", "Bad header line: ..."
    bool has_verdict = false;   // a Spam: field was present (only in EX_OK replies)
    bool spam = false;
    double score = 0;
    double threshold = 0;
    std::string score_text;     // as spamd wrote them ("1002.7", "5.0"): headers and notes keep them
    std::string threshold_text;
    std::string body;

    bool ok() const { return code == 0; }
};

// Parses one complete reply (spamd closes the connection after it). The body must be exactly
// Content-length octets when that field is present (a shorter one means a cut-off reply).
std::optional<SpamdReply> parse_spamd_reply(std::string_view in, std::string& error);

// One header field as spamd wrote it: the value keeps its folding ("a,\r\n\tb"), CRLF line ends.
struct HeaderField {
    std::string name;
    std::string value;
};

// The X-Spam-* fields of a header block (a HEADERS body), in order, folded lines kept; stops at
// the first empty line. Lines that are neither a field nor a continuation are skipped.
std::vector<HeaderField> spam_header_fields(std::string_view header_block);

// X-Spam-Status: "Yes, score=15.2 required=5.0 tests=A,B,\r\n\tC autolearn=no version=4.0.1".
// Unfolded; a test list folded after a comma is joined again. Keys other than these are ignored.
struct SpamStatus {
    std::string verdict;         // "Yes" / "No" (the word before the first comma)
    std::string score;           // score= (or hits= from SpamAssassin 2.x)
    std::string required;
    std::vector<std::string> tests;   // "none" is an empty list
    std::string autolearn;
    std::string version;
};
SpamStatus parse_spam_status(std::string_view value);

// A number as spamd writes scores: optional '-', digits, optional '.' and digits.
std::optional<double> parse_spam_score(std::string_view text);

}  // namespace asmtpd::proto
