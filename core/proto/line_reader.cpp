// line_reader.cpp - command-mode line framing (see line_reader.hpp for the contract).
//
// Must keep memory bounded whatever the client sends: it never copies, and an over-long line
// is reported once and then consumed as it arrives, so the caller never has to buffer more
// than max_line bytes. Results do not depend on how the input was split into reads.
// Pure: no I/O, no logging.
#include "core/proto/line_reader.hpp"

namespace asmtpd::proto {

LineReader::Event LineReader::next(std::string_view input) {
    Event ev;
    std::size_t skipped = 0;
    if (discarding_) {
        auto lf = input.find('\n');
        if (lf == std::string_view::npos) {
            ev.consumed = input.size();  // the tail of the over-long line, still going
            return ev;
        }
        discarding_ = false;
        skipped = lf + 1;
        input.remove_prefix(skipped);
    }

    auto lf = input.find('\n');
    if (lf == std::string_view::npos) {
        // No LF within max_line bytes means the line is already longer than allowed.
        if (input.size() >= max_line_) {
            ev.kind = Event::TooLong;
            ev.consumed = skipped + input.size();
            discarding_ = true;
        } else {
            ev.consumed = skipped;
        }
        return ev;
    }
    ev.consumed = skipped + lf + 1;
    if (lf + 1 > max_line_) {
        ev.kind = Event::TooLong;
        return ev;
    }
    std::string_view line = input.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ev.kind = Event::Line;
    ev.line = line;
    return ev;
}

}  // namespace asmtpd::proto
