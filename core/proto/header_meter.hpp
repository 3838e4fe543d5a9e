// header_meter.hpp - measures the header block of a message as its decoded content streams by
// (RFC 5322 §2.1: the header ends at the first empty line). Pure: no I/O, no allocation.
//
// Input is the DataDecoder's output (CRLF line ends, dots unstuffed) in arbitrary chunks; every
// split point gives the same counts. bytes() counts header octets including each line's CRLF
// and excluding the empty line that ends the block; lines() counts physical lines (a folded
// header is several). A message with no empty line is all header, as RFC 5322 reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace asmtpd::proto {

struct HeaderLimits {
    std::uint64_t max_bytes = 102400;   // 0 = unlimited (Postfix's header_size_limit default)
    std::size_t max_lines = 1000;       // 0 = unlimited
};

class HeaderMeter {
public:
    explicit HeaderMeter(HeaderLimits limits = {}) : limits_(limits) {}

    // Returns the number of bytes of `chunk` that belong to the header block (the rest, if
    // any, is body: the block ended inside this chunk).
    std::size_t feed(std::string_view chunk);

    bool ended() const { return ended_; }               // the empty line was seen
    std::uint64_t bytes() const { return bytes_; }
    std::size_t lines() const { return lines_; }
    bool too_big() const {
        return (limits_.max_bytes > 0 && bytes_ > limits_.max_bytes) ||
               (limits_.max_lines > 0 && lines_ > limits_.max_lines);
    }

private:
    HeaderLimits limits_;
    std::uint64_t bytes_ = 0;
    std::size_t lines_ = 0;
    std::size_t line_len_ = 0;   // octets of the current line so far (CR included)
    bool line_starts_cr_ = false;   // the current line's first octet is CR
    bool ended_ = false;
};

}  // namespace asmtpd::proto
