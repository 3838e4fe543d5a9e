// auth_results.cpp - see auth_results.hpp.
#include "core/proto/auth_results.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kLineWidth = 78;   // RFC 5322 §2.1.1: SHOULD NOT exceed 78 characters

bool is_cfws_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 tspecials: ( ) < > @ , ; : \ " / [ ] ? =
bool is_tspecial(char c) {
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

bool is_token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 32 && u < 127 && !is_tspecial(c);
}

// Skips white space and (nested) comments; false when a comment does not end.
bool skip_cfws(std::string_view s, std::size_t& i) {
    while (i < s.size()) {
        if (is_cfws_space(s[i])) {
            ++i;
            continue;
        }
        if (s[i] != '(') return true;
        int depth = 0;
        for (; i < s.size(); ++i) {
            if (s[i] == '\\') {
                ++i;   // quoted-pair: the next character is literal
                continue;
            }
            if (s[i] == '(') ++depth;
            if (s[i] == ')' && --depth == 0) break;
        }
        if (i >= s.size()) return false;
        ++i;
    }
    return true;
}

}  // namespace

std::optional<std::string> authserv_id(std::string_view value) {
    std::size_t i = 0;
    if (!skip_cfws(value, i) || i >= value.size()) return std::nullopt;
    std::string id;
    if (value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            if (value[i] == '\r' || value[i] == '\n') continue;   // folding inside the quotes
            id.push_back(value[i]);
        }
        if (i >= value.size()) return std::nullopt;   // no closing quote
        return id;
    }
    while (i < value.size() && is_token_char(value[i])) id.push_back(value[i++]);
    if (id.empty()) return std::nullopt;
    return id;
}

bool claims_authserv_id(std::string_view value, std::string_view our_id) {
    auto id = authserv_id(value);
    return id && !our_id.empty() && iequals(*id, our_id);
}

std::string mime_value(std::string_view text) {
    bool token = !text.empty();
    for (char c : text)
        if (!is_token_char(c)) token = false;
    if (token) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 32 || u == 127) continue;
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out += '"';
    return out;
}

std::string format_authentication_results(std::string_view id, const std::vector<std::string>& results) {
    const std::string name = "Authentication-Results: ";
    const std::string head = name + mime_value(id) + ";";
    if (results.empty()) return head + " none";
    std::string one_line = head;
    for (std::size_t i = 0; i < results.size(); ++i) one_line += " " + results[i] + (i + 1 < results.size() ? ";" : "");
    if (one_line.size() <= kLineWidth) return one_line;

    std::string out = head;
    for (std::size_t r = 0; r < results.size(); ++r) {
        std::string text = results[r] + (r + 1 < results.size() ? ";" : "");
        out += "\r\n\t";
        std::size_t col = 8;   // a TAB: count it as a full tab stop
        std::size_t pos = 0;
        while (pos < text.size()) {
            // The next word: the spaces before it, then up to the next space. A fold goes before
            // a word's spaces, so no line is ever white space only.
            std::size_t start = text.find_first_not_of(' ', pos);
            std::size_t sp = start == std::string::npos ? std::string::npos : text.find(' ', start);
            std::string_view word = std::string_view(text).substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
            if (pos > 0 && start != std::string::npos && col + word.size() > kLineWidth) {
                out += "\r\n";   // fold before the word's own leading space
                col = 0;
            }
            out += word;
            col += word.size();
            pos += word.size();
        }
    }
    return out;
}

}  // namespace asmtpd::proto
