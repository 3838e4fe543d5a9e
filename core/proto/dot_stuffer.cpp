// dot_stuffer.cpp - streaming dot-stuffing and line-end canonicalisation (see dot_stuffer.hpp).
//
// Security note: the next hop ends the message at the first "<CRLF>.<CRLF>" it sees, so any
// line start we fail to stuff could end the message early and turn the rest into commands
// (SMTP smuggling towards the next hop). Every LF therefore starts a line here, bare or not,
// and a bare LF is sent as CRLF so no receiver can disagree with us about where lines start.
#include "core/proto/dot_stuffer.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

void DotStuffer::feed(std::string_view in, std::string& out) {
    fed_ += in.size();
    out.reserve(out.size() + in.size() + in.size() / 64 + 2);
    std::size_t i = 0;
    const std::size_t n = in.size();
    while (i < n) {
        if (in[i] == '.' && (line_start_ || after_cr_)) out += '.';
        // Copy the run up to the next CR or LF in one go (the common case: whole lines).
        std::size_t stop = find_cr_or_lf(in, i);
        if (stop == std::string_view::npos) stop = n;
        if (stop > i) {
            out.append(in.data() + i, stop - i);
            line_start_ = false;
            after_cr_ = false;
        }
        if (stop == n) break;
        if (in[stop] == '\r') {
            out += '\r';
            line_start_ = false;
            after_cr_ = true;
        } else {
            if (!after_cr_) out += '\r';   // a bare LF goes out as CRLF
            out += '\n';
            line_start_ = true;
            after_cr_ = false;
        }
        i = stop + 1;
    }
}

void DotStuffer::finish(std::string& out) {
    if (!line_start_) out += "\r\n";
    out += ".\r\n";
    line_start_ = true;
    after_cr_ = false;
    fed_ = 0;
}

}  // namespace asmtpd::proto
