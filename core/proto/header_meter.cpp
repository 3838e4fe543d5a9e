// header_meter.cpp - see header_meter.hpp.
#include "core/proto/header_meter.hpp"

#include <cstring>

namespace asmtpd::proto {

std::size_t HeaderMeter::feed(std::string_view chunk) {
    if (ended_) return 0;
    std::size_t pos = 0;
    while (pos < chunk.size()) {
        const void* hit = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
        std::size_t stop = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - chunk.data()) : chunk.size();
        if (line_len_ == 0 && stop > pos) line_starts_cr_ = chunk[pos] == '\r';
        line_len_ += stop - pos;
        if (!hit) return chunk.size();
        pos = stop + 1;
        // An empty line is "\r\n" (or a lone "\n" from a normalizing decoder's input).
        bool empty = line_len_ == 0 || (line_len_ == 1 && line_starts_cr_);
        std::size_t len = line_len_ + 1;
        line_len_ = 0;
        if (empty) {
            ended_ = true;
            return pos;
        }
        bytes_ += len;
        ++lines_;
    }
    return pos;
}

}  // namespace asmtpd::proto
