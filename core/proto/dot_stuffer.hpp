// dot_stuffer.hpp - the sending side of RFC 5321 §4.5.2 transparency, streaming.
//
// Message content goes in, in chunks of any size; what comes out is ready to follow a 354:
// a line that starts with "." gets one more, a bare LF becomes CRLF (RFC 5321 §2.3.8: a
// client must not send bare LF, and a next hop that reads LF as a line end must see the same
// lines we stuffed), and finish() makes sure the content ends in CRLF before ".\r\n".
// A bare CR is passed through as data (as Postfix does), but a "." right after it is doubled
// as well: a next hop that wrongly takes CR for a line end must not find an end of data in
// the middle of the message (SMTP smuggling via "\r.\r"); a strict one keeps one extra dot.
// Must never: emit "\r\n.\r\n" before finish(), or buffer input (state is two flags, so
// every way of splitting the input gives the same output). Pure: no I/O, no allocation
// beyond what it appends to `out`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace asmtpd::proto {

class DotStuffer {
public:
    // Appends the stuffed form of `in` to `out`.
    void feed(std::string_view in, std::string& out);
    // Appends the end: CRLF if the content did not end with one, then ".\r\n". Further
    // feed() calls start a new message.
    void finish(std::string& out);

    // Content octets fed so far (before stuffing).
    std::uint64_t fed() const { return fed_; }

private:
    bool line_start_ = true;   // the next byte starts a line (the 354 counts as a line end)
    bool after_cr_ = false;    // the last byte was CR: an LF completes CRLF, a "." is doubled
    std::uint64_t fed_ = 0;
};

}  // namespace asmtpd::proto
