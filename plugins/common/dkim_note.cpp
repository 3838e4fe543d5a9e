// dkim_note.cpp - the dkim plugin's notes. See dkim_note.hpp.
#include "plugins/common/dkim_note.hpp"

#include <cctype>
#include <cstring>

namespace asmtpd::plugins {

namespace {

// RFC 2045 token: printable ASCII without SP and tspecials.
bool token_char(unsigned char c) { return c > 0x20 && c < 0x7f && !std::strchr("()<>@,;:\\\"/[]?=", c); }

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!token_char(c)) return false;
    return true;
}

// RFC 5322 atext (a dot-atom local part is atext runs joined by dots).
bool atext_char(unsigned char c) { return (c > 0x20 && c < 0x7f && !std::strchr("()<>[]:;@\\,\"", c)); }

// RFC 8601 pvalue's address form: [local-part] "@" domain-name, written without quotes.
bool is_address_pvalue(std::string_view s) {
    auto at = s.rfind('@');
    if (at == std::string_view::npos || at + 1 == s.size()) return false;
    for (unsigned char c : s.substr(0, at))
        if (!atext_char(c)) return false;
    for (unsigned char c : s.substr(at + 1))
        if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return false;
    return true;
}

std::string pvalue(std::string_view s) { return is_address_pvalue(s) ? std::string(s) : rfc8601_value(s); }

std::string field(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

}  // namespace

std::string rfc8601_value(std::string_view text) {
    if (is_token(text)) return std::string(text);
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += (c < 0x20 || c == 0x7f || c == ';') ? '?' : char(c);
    }
    return out + "\"";
}

std::string format_dkim_method_result(const DkimNoteEntry& e) {
    std::string out = e.result.empty() ? "permerror" : e.result;
    if (!e.reason.empty()) out += " reason=" + rfc8601_value(e.reason);
    if (!e.domain.empty()) out += " header.d=" + rfc8601_value(e.domain);
    if (!e.identity.empty()) out += " header.i=" + pvalue(e.identity);
    if (!e.selector.empty()) out += " header.s=" + rfc8601_value(e.selector);
    if (!e.algorithm.empty()) out += " header.a=" + rfc8601_value(e.algorithm);
    if (!e.b_prefix.empty()) out += " header.b=" + rfc8601_value(e.b_prefix);
    return out;
}

std::string format_dkim_method_note(const std::vector<DkimNoteEntry>& entries) {
    if (entries.empty()) return "none";
    std::string out;
    for (const auto& e : entries) {
        if (!out.empty()) out += "; ";
        out += format_dkim_method_result(e);
    }
    return out;
}

std::string format_dkim_results_note(const std::vector<DkimNoteEntry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        if (!out.empty()) out += '\n';
        out += field(e.result) + '\t' + field(e.domain) + '\t' + field(e.selector) + '\t' + field(e.algorithm) +
               '\t' + field(e.identity) + '\t' + field(e.b_prefix) + '\t' + (e.testing ? "y" : "n") + '\t' +
               field(e.reason);
    }
    return out;
}

std::vector<DkimNoteEntry> parse_dkim_results_note(std::string_view note) {
    std::vector<DkimNoteEntry> out;
    if (note.empty()) return out;
    for (auto line : split(note, '\n')) {
        auto f = split(line, '\t');
        if (f.size() < 8) continue;
        DkimNoteEntry e;
        e.result = f[0];
        e.domain = f[1];
        e.selector = f[2];
        e.algorithm = f[3];
        e.identity = f[4];
        e.b_prefix = f[5];
        e.testing = f[6] == "y";
        // The reason is the rest of the line (a TAB inside was replaced, but be lenient).
        e.reason = line.substr(static_cast<std::size_t>(f[7].data() - line.data()));
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace asmtpd::plugins
