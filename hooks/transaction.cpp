// transaction.cpp - the header block put in front of a message body.
//
// Received and plugin headers (spp "H", spamassassin, ...) come from text the client or a
// plugin controlled. Whatever they hold, the prefix must stay a well-formed header block:
// every line ends in CRLF, no bare CR or LF survives, no empty line ends the header early,
// and a line that is not "Name: value" never starts a header (it would be read as body or
// glued to the header before it). Never trust the caller to have done this.
#include "hooks/transaction.hpp"

#include <string_view>

namespace asmtpd::hooks {
namespace {

// RFC 5322 §2.2: field-name = 1*(printable US-ASCII except ':').
bool valid_field_start(std::string_view line) {
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    for (char c : line.substr(0, colon))
        if (c < 33 || c > 126) return false;
    return true;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

// Appends one header (possibly folded over several lines, with any line ending) to out:
// every CR, LF or CRLF becomes a fold, a continuation that does not start with white space
// gets one, blank continuations are dropped, NUL and other controls except TAB are removed.
void append_header(std::string& out, std::string_view text) {
    bool first = true;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find_first_of("\r\n", pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view seg = text.substr(pos, end - pos);
        pos = end + 1;
        if (end < text.size() && text[end] == '\r' && pos < text.size() && text[pos] == '\n') ++pos;

        std::string line;
        line.reserve(seg.size() + 1);
        for (char c : seg) {
            auto u = static_cast<unsigned char>(c);
            if (u < 32 && c != '\t') continue;
            if (u == 127) continue;
            line.push_back(c);
        }
        if (first) {
            if (!valid_field_start(line)) return;   // not a header: drop it whole
            first = false;
        } else {
            if (blank(line)) continue;
            if (line[0] != ' ' && line[0] != '\t') line.insert(line.begin(), ' ');
        }
        out += line;
        out += "\r\n";
        if (end == text.size()) break;
    }
}

}  // namespace

std::string Transaction::header_prefix() const {
    std::string out;
    if (!received.empty()) append_header(out, received);
    for (const auto& h : added_headers) append_header(out, h);
    return out;
}

std::uint64_t Transaction::message_size() const {
    return header_prefix().size() + (body ? body->size() : 0);
}

}  // namespace asmtpd::hooks
