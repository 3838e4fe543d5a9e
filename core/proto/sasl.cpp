// sasl.cpp - strict base64 and the SASL PLAIN / LOGIN / CRAM-MD5 message parsers.
//
// Must never: accept base64 that another decoder would read differently, put a password in
// an error text, or read outside the given views. Pure.
#include "core/proto/sasl.hpp"

#include <array>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63, or -1 for anything outside the alphabet ('=' included).
constexpr std::array<int, 256> make_table() {
    std::array<int, 256> t{};
    for (int& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
    return t;
}
constexpr std::array<int, 256> kDecode = make_table();

int value(char c) { return kDecode[static_cast<unsigned char>(c)]; }

// Identities reach logs, headers and spp environments: UTF-8 without controls.
bool clean_identity(std::string_view s) {
    for (char c : s)
        if (is_ctl(c)) return false;
    return valid_utf8(s);
}

}  // namespace

std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name) {
    if (iequals(name, "PLAIN")) return SaslMechanism::Plain;
    if (iequals(name, "LOGIN")) return SaslMechanism::Login;
    if (iequals(name, "CRAM-MD5")) return SaslMechanism::CramMd5;
    return std::nullopt;
}

std::string_view to_string(SaslMechanism m) {
    switch (m) {
    case SaslMechanism::Plain: return "PLAIN";
    case SaslMechanism::Login: return "LOGIN";
    case SaslMechanism::CramMd5: return "CRAM-MD5";
    }
    return "";
}

// Both write into a string sized once: appending a byte at a time cost more than the table
// lookups (a DKIM signature's b= is decoded for every message).
std::string base64_encode(std::string_view bytes) {
    std::string out((bytes.size() + 2) / 3 * 4, '=');
    char* o = out.data();
    std::size_t i = 0;
    auto u = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
        *o++ = kAlphabet[(v >> 18) & 63];
        *o++ = kAlphabet[(v >> 12) & 63];
        *o++ = kAlphabet[(v >> 6) & 63];
        *o++ = kAlphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {   // the '=' padding is already there
        const unsigned v = (u(i) << 16) | (rest == 2 ? u(i + 1) << 8 : 0u);
        *o++ = kAlphabet[(v >> 18) & 63];
        *o++ = kAlphabet[(v >> 12) & 63];
        if (rest == 2) *o++ = kAlphabet[(v >> 6) & 63];
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    char* o = out.data();
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const int a = value(text[i]), b = value(text[i + 1]);
        if (a < 0 || b < 0) return std::nullopt;
        const char c3 = text[i + 2], c4 = text[i + 3];
        if (last && c3 == '=' && c4 == '=') {
            if (b & 0x0f) return std::nullopt;   // bits that no byte uses must be zero
            *o++ = static_cast<char>((a << 2) | (b >> 4));
            break;
        }
        const int c = value(c3);
        if (c < 0) return std::nullopt;
        if (last && c4 == '=') {
            if (c & 0x03) return std::nullopt;
            *o++ = static_cast<char>((a << 2) | (b >> 4));
            *o++ = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
            break;
        }
        const int d = value(c4);
        if (d < 0) return std::nullopt;
        *o++ = static_cast<char>((a << 2) | (b >> 4));
        *o++ = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
        *o++ = static_cast<char>(((c & 0x03) << 6) | d);
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

Reply sasl_bad_base64() { return Reply::make(501, "5.5.2", "Invalid base64 data"); }
Reply sasl_cancelled() { return Reply::make(501, "5.7.0", "Authentication cancelled"); }
Reply sasl_line_too_long() { return Reply::make(500, "5.5.6", "Authentication exchange line is too long"); }
Reply sasl_malformed(std::string_view what) { return Reply::make(501, "5.5.2", what); }

bool is_sasl_cancel(std::string_view line) { return line == "*"; }

Expected<std::string> decode_initial_response(std::string_view arg) {
    if (arg == "=") return std::string();
    if (arg.size() > kSaslMaxLine) return sasl_line_too_long();
    auto d = base64_decode(arg);
    if (!d) return sasl_bad_base64();
    return std::move(*d);
}

Expected<std::string> decode_response(std::string_view line) {
    if (is_sasl_cancel(line)) return sasl_cancelled();
    if (line.size() > kSaslMaxLine - 2) return sasl_line_too_long();
    auto d = base64_decode(line);
    if (!d) return sasl_bad_base64();
    return std::move(*d);
}

Expected<PlainCredentials> parse_plain(std::string_view decoded) {
    const auto first = decoded.find('\0');
    if (first == std::string_view::npos) return sasl_malformed("Malformed PLAIN response: no NUL separator");
    const auto second = decoded.find('\0', first + 1);
    if (second == std::string_view::npos) return sasl_malformed("Malformed PLAIN response: one NUL separator");
    if (decoded.find('\0', second + 1) != std::string_view::npos)
        return sasl_malformed("Malformed PLAIN response: more than two NUL separators");
    PlainCredentials c;
    c.authzid = std::string(decoded.substr(0, first));
    c.authcid = std::string(decoded.substr(first + 1, second - first - 1));
    c.password = std::string(decoded.substr(second + 1));
    if (c.authcid.empty()) return sasl_malformed("Malformed PLAIN response: empty authentication identity");
    if (c.password.empty()) return sasl_malformed("Malformed PLAIN response: empty password");
    if (!clean_identity(c.authcid) || !clean_identity(c.authzid))
        return sasl_malformed("Malformed PLAIN response: identity is not clean UTF-8");
    return c;
}

Expected<std::string> parse_login_user(std::string_view decoded) {
    if (decoded.empty()) return sasl_malformed("Malformed LOGIN response: empty user name");
    if (!clean_identity(decoded)) return sasl_malformed("Malformed LOGIN response: user name is not clean UTF-8");
    return std::string(decoded);
}

Expected<std::string> parse_login_password(std::string_view decoded) {
    if (decoded.find('\0') != std::string_view::npos) return sasl_malformed("Malformed LOGIN response: NUL in password");
    return std::string(decoded);
}

std::string cram_md5_challenge(std::string_view random, std::uint64_t timestamp, std::string_view hostname) {
    std::string out = "<";
    out += random;
    out += '.';
    out += std::to_string(timestamp);
    out += '@';
    out += hostname;
    out += '>';
    return out;
}

Expected<CramMd5Response> parse_cram_md5(std::string_view decoded) {
    const auto sp = decoded.rfind(' ');
    if (sp == std::string_view::npos) return sasl_malformed("Malformed CRAM-MD5 response: no space before the digest");
    CramMd5Response r;
    r.user = std::string(decoded.substr(0, sp));
    std::string_view digest = decoded.substr(sp + 1);
    if (r.user.empty()) return sasl_malformed("Malformed CRAM-MD5 response: empty user name");
    if (!clean_identity(r.user)) return sasl_malformed("Malformed CRAM-MD5 response: user name is not clean UTF-8");
    if (digest.size() != 32) return sasl_malformed("Malformed CRAM-MD5 response: digest is not 32 hex digits");
    for (char c : digest)
        if (!is_hex(c)) return sasl_malformed("Malformed CRAM-MD5 response: digest is not 32 hex digits");
    r.digest = to_lower(digest);
    return r;
}

}  // namespace asmtpd::proto
