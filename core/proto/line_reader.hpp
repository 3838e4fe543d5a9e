// line_reader.hpp - command-mode line framing with a hard length cap.
//
// Command lines end in LF; a CR before it is removed (RFC 5321 wants CRLF, but a bare LF in
// command mode is harmless and what deployed clients sometimes send). A line longer than the
// cap is reported once as TooLong and then discarded up to its LF, so memory stays bounded no
// matter what the client sends. DATA content never goes through here: see data_decoder.hpp.
#pragma once

#include <cstddef>
#include <string_view>

namespace asmtpd::proto {

class LineReader {
public:
    explicit LineReader(std::size_t max_line) : max_line_(max_line) {}

    struct Event {
        enum Kind { NeedMore, Line, TooLong } kind = NeedMore;
        std::string_view line;      // Line: without CR LF (points into the input)
        std::size_t consumed = 0;   // bytes of the input this event used up
    };

    // Looks at the unconsumed input. NeedMore consumes nothing unless it is discarding the
    // tail of an over-long line (then it consumes everything given).
    Event next(std::string_view input);

    void set_max(std::size_t max_line) { max_line_ = max_line; }
    std::size_t max() const { return max_line_; }

private:
    std::size_t max_line_;      // including CRLF
    bool discarding_ = false;   // inside the tail of a line already reported TooLong
};

}  // namespace asmtpd::proto
