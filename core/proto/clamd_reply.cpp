// clamd_reply.cpp - clamd's INSTREAM reply (grammar in clamd_reply.hpp).
//
// Must never: call a reply clean unless it says exactly "OK", or let a virus name carry bytes
// that could break the SMTP reply or the log line it goes into.
#include "core/proto/clamd_reply.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxReply = 4096;   // clamd's longest answers are well under 1 KiB

ClamdReply malformed(std::string why) { return {ClamdReply::Kind::Malformed, std::move(why)}; }

bool printable(std::string_view s) {
    for (char c : s)
        if (is_ctl(c) || is_8bit(c)) return false;
    return true;
}

}  // namespace

std::string_view to_string(ClamdReply::Kind k) {
    switch (k) {
    case ClamdReply::Kind::Clean: return "clean";
    case ClamdReply::Kind::Found: return "found";
    case ClamdReply::Kind::Error: return "error";
    case ClamdReply::Kind::Malformed: return "malformed";
    }
    return "malformed";
}

ClamdReply parse_clamd_reply(std::string_view in) {
    if (in.size() > kMaxReply) return malformed("clamd reply too long");
    // One terminator: NUL for z-commands, LF for n-commands.
    if (!in.empty() && (in.back() == '\0' || in.back() == '\n')) in.remove_suffix(1);
    if (!in.empty() && in.back() == '\r') in.remove_suffix(1);
    if (in.empty()) return malformed("empty clamd reply");
    if (!printable(in)) return malformed("clamd reply with control characters");
    // "N: " of an IDSESSION (a request counter: ten digits are plenty).
    std::size_t digits = 0;
    while (digits < in.size() && digits <= 10 && is_digit(in[digits])) ++digits;
    if (digits > 0 && digits <= 10 && in.substr(digits).starts_with(": ")) in.remove_prefix(digits + 2);

    if (in.ends_with(" ERROR")) {
        std::string_view text = in.substr(0, in.size() - 6);
        if (text.starts_with("stream: ")) text.remove_prefix(8);
        if (text.empty()) return malformed("clamd error without text");
        return {ClamdReply::Kind::Error, std::string(text)};
    }
    if (!in.starts_with("stream: ")) return malformed("not a clamd stream reply");
    in.remove_prefix(8);
    if (in == "OK") return {ClamdReply::Kind::Clean, {}};
    if (in.ends_with(" FOUND")) {
        const std::string_view name = in.substr(0, in.size() - 6);
        if (name.empty()) return malformed("clamd FOUND without a name");
        if (name.size() > kMaxVirusName) return malformed("clamd virus name too long");
        if (name.find(' ') != std::string_view::npos) return malformed("clamd virus name with a space");
        return {ClamdReply::Kind::Found, std::string(name)};
    }
    return malformed("unknown clamd result");
}

}  // namespace asmtpd::proto
