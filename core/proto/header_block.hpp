// header_block.hpp - a message's header block as fields (RFC 5322 §2.2), and the one rule that
// turns text from a client or a plugin into a header field that cannot break the block.
//
// The block is what HeaderMeter measures: the header lines as received, each ending in CRLF
// (the last may lack it when the message ended there), without the empty line that ends it.
// A field starts at a line that does not begin with SP or HTAB and runs over the lines that do
// (folding). Its name is what precedes the first ':' when that is a valid field-name
// (printable US-ASCII except ':'); a line without one ("From mbox-line", garbage) is a field
// with an empty name: kept, never matched by name.
// Pure: no I/O. split_header_block() returns views into its argument; keep the block alive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/proto/text.hpp"   // iequals: names compare case-insensitively

namespace asmtpd::proto {

// "Raw": views into the block as it is, unlike spamd_reply's HeaderField, which owns its text.
struct RawHeaderField {
    std::string_view raw;    // all of its lines, line ends included, exactly as in the block
    std::string_view name;   // empty: not a "name:" line
    // The value: after the ':' to the end of raw, line ends and folds kept (no CRLF at the end).
    std::string_view value() const;
};

std::vector<RawHeaderField> split_header_block(std::string_view block);

// RFC 5322 §2.2: field-name = 1*(%d33-57 / %d59-126).
bool valid_field_name(std::string_view name);

// Appends `text` ("Name: value", possibly over several lines with any line ending) to out as
// one well-formed field: every CR, LF or CRLF becomes a fold, a continuation that does not
// start with white space gets one, blank continuations are dropped, NUL and other controls
// except TAB are removed, and the field ends in CRLF. A text whose first line is not
// "name:" is dropped whole (it would be read as body or glued to the field before it).
// Returns whether anything was appended.
bool append_header_field(std::string& out, std::string_view text);

// The unfolded value with the white space at both ends trimmed: CRLF before white space
// removed (RFC 5322 §2.2.3), nothing else changed.
std::string unfold(std::string_view value);

}  // namespace asmtpd::proto
