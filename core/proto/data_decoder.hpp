// data_decoder.hpp - the DATA state machine: end-of-data detection, dot-unstuffing,
// bare CR/LF policy, size and line-length limits (RFC 5321 §4.1.1.4, §4.5.2; RELIABILITY P3).
//
// Only <CRLF>.<CRLF> ends the message; the CRLF that ended the DATA command counts as the
// first CRLF, so ".\r\n" right after 354 is an empty message. Input arrives in arbitrary
// chunks; the decoder keeps a few bytes of state so every split point gives the same result.
// Output is the message content with CRLF line ends and leading dots unstuffed; the final
// ".\r\n" is not part of it. The decoder never allocates beyond what it appends to `out`.
//
// Policies: Reject (default) keeps reading to the strict end after a bare CR or LF and flags
// the message, which the session then refuses with 5.5.2 and closes (SMTP smuggling).
// Normalize (trusted clients) turns a bare LF into CRLF and passes a bare CR through; a line
// after a bare LF is still never an end-of-data line. In Reject mode a bare LF is passed
// through as is (the content is refused anyway). A leading "." is removed from every line,
// including one after a bare LF. A bare CR never ends a line in either mode.
// size() and max_line count decoded content octets (a stuffing dot is not counted, the CRLF
// is); output is the first max_bytes octets of the content, whatever the chunking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace asmtpd::proto {

enum class BareLfPolicy { Reject, Normalize };

struct DataLimits {
    std::uint64_t max_bytes = 26214400;  // content octets; past it output stops (too_big)
    std::size_t max_line = 0;            // octets per line incl. CRLF; 0 = unlimited
    BareLfPolicy bare_lf = BareLfPolicy::Reject;
    // false for BDAT (RFC 3030): the content is counted octets, not dot-stuffed; no line ends
    // the data and no dot is removed; the session calls end_chunks() after the LAST chunk.
    bool dot_stuffed = true;
};

class DataDecoder {
public:
    explicit DataDecoder(DataLimits limits) : limits_(limits) {}

    // Appends decoded content to `out` (nothing once too_big()). Returns the number of input
    // bytes consumed: all of them, unless the end of data was reached, in which case the
    // remainder belongs to the command stream that follows.
    std::size_t feed(std::string_view in, std::string& out);

    bool done() const { return state_ == State::Done; }
    // BDAT: the LAST chunk is in. A CR held back at the very end is a bare CR; then done().
    void end_chunks(std::string& out);
    bool bare_line_ending() const { return bare_; }   // a bare CR or LF was seen
    bool too_big() const { return size_ > limits_.max_bytes; }
    bool line_too_long() const { return long_line_; }
    std::uint64_t size() const { return size_; }      // content octets seen, including discarded

private:
    enum class State {
        LineStart,     // at the start of a line that began after a real CRLF (or after 354)
        LineStartSoft, // at the start of a line after a bare LF (cannot end the data)
        Dot,           // saw "." at LineStart
        DotCr,         // saw ".\r" at LineStart: LF now ends the data
        Mid,           // inside a line
        MidCr,         // saw CR inside a line (or after a stuffed dot); held back until the next byte
        Done
    };
    // Counts content octets and line length; appends to `out` while within max_bytes.
    void emit(std::string& out, std::string_view bytes);
    void bare_lf(std::string& out);

    DataLimits limits_;
    State state_ = State::LineStart;
    std::uint64_t size_ = 0;
    std::size_t line_len_ = 0;
    bool bare_ = false;
    bool long_line_ = false;
};

}  // namespace asmtpd::proto
