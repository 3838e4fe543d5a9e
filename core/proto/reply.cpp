// reply.cpp - framing of SMTP replies and the cleaning of untrusted reply text.
//
// This is the last stop before bytes reach a client, so it must never emit a malformed reply:
// no CR/LF/controls from plugin text, no code outside 200..599, no enhanced status code whose
// class disagrees with the reply code, no line longer than RFC 5321's 512 octets.
// Pure: no I/O, no logging, no allocation beyond the returned strings.
#include "core/proto/reply.hpp"

#include <fmt/format.h>

namespace asmtpd::proto {

namespace {

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
constexpr std::size_t kMaxReplyLine = 510;
// sanitize_reply_text leaves room for "250-" in front.
constexpr std::size_t kMaxReplyText = kMaxReplyLine - 4;

bool valid_code(int code) { return code >= 200 && code <= 599; }

bool all_digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

}  // namespace

Reply Reply::make(int code, std::string_view esc, std::string_view text) {
    Reply r;
    r.code = code;
    r.esc = std::string(esc);
    while (true) {
        auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            // A trailing newline adds no empty line, but an empty text is still one line.
            if (!text.empty() || r.lines.empty()) r.lines.emplace_back(text);
            break;
        }
        r.lines.emplace_back(text.substr(0, nl));
        text.remove_prefix(nl + 1);
    }
    return r;
}

namespace {
// After a cut at the line limit: removes the start of a UTF-8 character the cut split, so a
// line never ends in half a character (the text itself is well-formed, append_sanitized).
void drop_cut_character(std::string& out, std::size_t floor) {
    std::size_t i = out.size();
    std::size_t continuation = 0;
    while (i > floor && continuation < 3 && (static_cast<unsigned char>(out[i - 1]) & 0xc0) == 0x80) {
        --i;
        ++continuation;
    }
    if (i == floor) return;
    const auto lead = static_cast<unsigned char>(out[i - 1]);
    if (lead < 0xc0) return;   // the line ends in a whole ASCII character
    const std::size_t need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    if (continuation < need) out.resize(i - 1);
}
}  // namespace

std::string Reply::wire(bool enhanced) const {
    // A bad code must never reach the wire: answer as a local error instead. The session is
    // expected to have validated plugin replies already; this is the last line of defence.
    if (!valid_code(code)) {
        return enhanced ? "451 4.3.0 Internal error: bad reply code\r\n"
                        : "451 Internal error: bad reply code\r\n";
    }
    // RFC 3463 has no class 3: a 354 carries no enhanced code. A mismatching code from a
    // plugin is replaced by the generic one of the right class rather than sent wrong.
    std::string prefix_esc;
    if (enhanced && !esc.empty() && code / 100 != 3) {
        prefix_esc = esc_matches(esc, code) ? esc : fmt::format("{}.0.0", code / 100);
    }
    // Built in place, one append per piece: this runs for every reply of every session.
    std::string out;
    const std::size_t n = lines.empty() ? 1 : lines.size();
    std::size_t total = 0;
    for (const auto& l : lines) total += l.size() + prefix_esc.size() + 8;
    out.reserve(total + 8);
    const char digits[3] = {char('0' + code / 100), char('0' + code / 10 % 10), char('0' + code % 10)};
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t start = out.size();
        out.append(digits, 3);
        out += i + 1 < n ? '-' : ' ';
        if (!prefix_esc.empty()) {
            out += prefix_esc;
            out += ' ';
        }
        if (!lines.empty()) append_sanitized(out, lines[i]);
        if (out.size() - start > kMaxReplyLine) {
            out.resize(start + kMaxReplyLine);
            drop_cut_character(out, start);
        }
        out += "\r\n";
    }
    return out;
}

std::string Reply::summary() const {
    std::string s = std::to_string(code);
    if (!esc.empty()) {
        s += ' ';
        s += sanitize_reply_text(esc);
    }
    if (!lines.empty() && !lines.front().empty()) {
        s += ' ';
        s += sanitize_reply_text(lines.front());
    }
    return s;
}

namespace {
// Length of the well-formed UTF-8 sequence at the start of `t` (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view t) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(t[i]); };
    const unsigned char c = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;   // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (t.size() < n || b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xbf) return 0;
    return n;
}
}  // namespace

void append_sanitized(std::string& out, std::string_view text) {
    const std::size_t start = out.size();
    for (std::size_t i = 0; i < text.size() && out.size() - start < kMaxReplyText;) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\t') {
            out += ' ';
        } else if (c < 0x20 || c == 0x7f) {
            // CR, LF, NUL, ESC ...: never let them reach the client
        } else if (c >= 0x80) {
            // Well-formed UTF-8 (an SMTPUTF8 address echoed back, RFC 6531 §3.7.4) is kept
            // whole, never cut at the length limit; any other high byte becomes '?'.
            const std::size_t n = utf8_sequence(text.substr(i));
            if (n == 0) {
                out += '?';
            } else {
                if (out.size() - start + n > kMaxReplyText) break;
                out.append(text.substr(i, n));
                i += n;
                continue;
            }
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
}

std::string sanitize_reply_text(std::string_view text) {
    std::string out;
    out.reserve(text.size() < kMaxReplyText ? text.size() : kMaxReplyText);
    append_sanitized(out, text);
    return out;
}

bool esc_matches(std::string_view esc, int code) {
    if (!valid_code(code)) return false;
    // class "." subject "." detail ; class = 2/4/5, subject and detail = 1*3DIGIT (RFC 3463)
    if (esc.size() < 5 || esc[1] != '.') return false;
    const char klass = esc[0];
    if (klass != '2' && klass != '4' && klass != '5') return false;
    if (klass - '0' != code / 100) return false;
    std::string_view rest = esc.substr(2);
    auto dot = rest.find('.');
    if (dot == std::string_view::npos) return false;
    std::string_view subject = rest.substr(0, dot);
    std::string_view detail = rest.substr(dot + 1);
    auto ok_part = [](std::string_view p) { return !p.empty() && p.size() <= 3 && all_digits(p); };
    return ok_part(subject) && ok_part(detail);
}

}  // namespace asmtpd::proto
