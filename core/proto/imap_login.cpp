// imap_login.cpp - IMAP LOGIN command and reply reading; see imap_login.hpp.
//
// Must never: put a raw CR or LF of an argument on the wire (command injection), read outside
// the given view, or take a tagged line of another tag (or inside a literal) for the answer.
#include "core/proto/imap_login.hpp"

#include <charconv>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxText = 200;
constexpr std::size_t kMaxLiteral = 1 << 20;

bool quotable(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
    return true;
}

std::string astring(std::string_view s) {
    if (!quotable(s)) return "{" + std::to_string(s.size()) + "+}\r\n" + std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

bool unsendable(std::string_view s) { return s.empty() || s.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos; }

// "{N}" at the end of a line: N, else nullopt.
std::optional<std::size_t> trailing_literal(std::string_view line) {
    if (line.size() < 3 || line.back() != '}') return std::nullopt;
    const auto open = line.rfind('{');
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return n;
}

// "OK [CODE args] text" after the tag or "*": status word, code and text.
ImapLoginReply read_status(std::string_view rest, ImapLoginStatus status) {
    ImapLoginReply r;
    r.status = status;
    const auto sp = rest.find(' ');
    std::string_view text = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        std::string_view code = text.substr(1, close == std::string_view::npos ? text.size() - 1 : close - 1);
        r.code = to_upper(code.substr(0, code.find(' ')));
        text = close == std::string_view::npos ? std::string_view() : text.substr(close + 1);
        if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    }
    r.text = std::string(text.substr(0, kMaxText));
    return r;
}

std::string_view word(std::string_view rest) { return rest.substr(0, rest.find(' ')); }

}  // namespace

std::optional<std::string> imap_login_command(std::string_view tag, std::string_view logout_tag,
                                              std::string_view user, std::string_view password) {
    if (unsendable(user) || unsendable(password)) return std::nullopt;
    return std::string(tag) + " LOGIN " + astring(user) + " " + astring(password) + "\r\n" + std::string(logout_tag) +
           " LOGOUT\r\n";
}

ImapLoginReply read_imap_login_reply(std::string_view bytes, std::string_view tag) {
    ImapLoginReply garbage;
    garbage.status = ImapLoginStatus::Garbage;
    bool greeted = false;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const auto lf = bytes.find('\n', pos);
        if (lf == std::string_view::npos) break;   // an incomplete line
        std::string_view line = bytes.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = lf + 1;
        if (line.size() >= 2 && line.substr(0, 2) == "* ") {
            const std::string_view rest = line.substr(2);
            const std::string w = to_upper(word(rest));
            if (!greeted) {
                if (w != "OK") {
                    if (w == "BYE") return read_status(rest, ImapLoginStatus::Bye);
                    garbage.text = std::string(line.substr(0, kMaxText));
                    return garbage;
                }
                greeted = true;
                continue;
            }
            if (w == "BYE") return read_status(rest, ImapLoginStatus::Bye);
            if (auto n = trailing_literal(line)) {
                if (*n > kMaxLiteral) return garbage;
                if (bytes.size() - pos < *n) break;
                pos += *n;   // the literal's octets; the response goes on after them
            }
            continue;
        }
        if (!greeted) {
            garbage.text = std::string(line.substr(0, kMaxText));
            return garbage;
        }
        if (line.size() >= 1 && line[0] == '+') continue;   // a continuation request: nothing for us
        const auto sp = line.find(' ');
        const std::string_view t = line.substr(0, sp);
        if (sp == std::string_view::npos || t != tag) continue;   // another tag (LOGOUT's)
        const std::string_view rest = line.substr(sp + 1);
        const std::string w = to_upper(word(rest));
        if (w == "OK") return read_status(rest, ImapLoginStatus::Ok);
        if (w == "NO") return read_status(rest, ImapLoginStatus::No);
        if (w == "BAD") return read_status(rest, ImapLoginStatus::Bad);
        garbage.text = std::string(line.substr(0, kMaxText));
        return garbage;
    }
    return {};
}

bool imap_code_is_temporary(std::string_view code) {
    return code == "UNAVAILABLE" || code == "SERVERBUG" || code == "LIMIT" || code == "INUSE";
}

}  // namespace asmtpd::proto
