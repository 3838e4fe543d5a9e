// spf_macro.cpp - RFC 7208 §7 macro strings: one tokenizer serves the syntax check and the
// expansion, so a text that passes the check always expands.
#include "core/proto/spf_macro.hpp"

#include <algorithm>
#include <vector>

#include "core/proto/cidr.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::spf {

namespace {

constexpr std::size_t kMaxDomainLength = 253;

bool is_delimiter(char c) {
    return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}
// macro-literal: visible ASCII except '%'
bool is_literal(char c) { return c >= 0x21 && c <= 0x7e && c != '%'; }
bool is_unreserved(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// One "%{...}" expansion as written.
struct Expand {
    char letter = 0;          // as written (case carries the URL-escape flag)
    unsigned keep = 0;        // 0: all parts
    bool reverse = false;
    std::string delimiters;   // empty: "."
};

// One token: literal text, or an expansion.
struct Token {
    std::string literal;            // for %% %_ %- the text they stand for
    std::optional<Expand> expand;
    bool macro = false;             // any macro-expand (also %% %_ %-): counts as domain-end
};

bool letter_allowed(char letter, MacroUse use) {
    char l = ascii_lower(letter);
    if (l == 's' || l == 'l' || l == 'o' || l == 'd' || l == 'i' || l == 'p' || l == 'h' || l == 'v')
        return true;
    return (l == 'c' || l == 'r' || l == 't') && use == MacroUse::Explanation;
}

// Splits text into tokens; on a syntax error returns nullopt and sets `error`.
std::optional<std::vector<Token>> tokenize(std::string_view s, MacroUse use, std::string& error) {
    std::vector<Token> out;
    auto add_literal = [&](std::string_view text, bool macro) {
        if (macro || out.empty() || out.back().macro || out.back().expand) out.push_back({});
        out.back().literal.append(text);
        out.back().macro = macro;
    };
    auto literal_ok = [use](char ch) { return is_literal(ch) || (use == MacroUse::Explanation && ch == ' '); };
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c != '%') {
            if (!literal_ok(c)) {
                error = "invalid character in macro string";
                return std::nullopt;
            }
            std::size_t j = i;
            while (j < s.size() && s[j] != '%' && literal_ok(s[j])) ++j;
            add_literal(s.substr(i, j - i), false);
            i = j;
            continue;
        }
        if (i + 1 >= s.size()) {
            error = "'%' at the end of a macro string";
            return std::nullopt;
        }
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            add_literal(n == '%' ? "%" : n == '_' ? " " : "%20", true);
            i += 2;
            continue;
        }
        if (n != '{') {
            error = "'%' must be followed by '{', '%', '_' or '-'";
            return std::nullopt;
        }
        std::size_t close = s.find('}', i + 2);
        if (close == std::string_view::npos) {
            error = "unterminated macro";
            return std::nullopt;
        }
        std::string_view body = s.substr(i + 2, close - i - 2);
        Expand e;
        if (body.empty() || !letter_allowed(body[0], use)) {
            error = "unknown or misplaced macro letter in %{" + std::string(body) + "}";
            return std::nullopt;
        }
        e.letter = body[0];
        std::size_t k = 1;
        bool digits = false;
        while (k < body.size() && is_digit(body[k])) {
            digits = true;
            e.keep = std::min<unsigned>(e.keep * 10 + unsigned(body[k] - '0'), 1000);
            ++k;
        }
        if (digits && e.keep == 0) {
            error = "macro digit transformer must be non-zero";
            return std::nullopt;
        }
        if (k < body.size() && ascii_lower(body[k]) == 'r') {
            e.reverse = true;
            ++k;
        }
        for (; k < body.size(); ++k) {
            if (!is_delimiter(body[k])) {
                error = "invalid delimiter in %{" + std::string(body) + "}";
                return std::nullopt;
            }
            e.delimiters.push_back(body[k]);
        }
        out.push_back(Token{{}, e, true});
        i = close + 1;
    }
    return out;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view l) {
    if (l.empty() || !std::all_of(l.begin(), l.end(), [](char c) { return is_alnum(c) || c == '-'; }))
        return false;
    if (l.find('-') == std::string_view::npos) return std::any_of(l.begin(), l.end(), is_alpha);
    return is_alnum(l.front()) && is_alnum(l.back());
}

// domain-end = ( "." toplabel [ "." ] ) / macro-expand; a macro followed by a lone "." (a
// fully qualified "%{d}.") is accepted too, as every implementation does.
bool has_domain_end(const std::vector<Token>& t) {
    if (t.empty()) return false;
    if (t.back().macro) return true;
    std::string_view tail = t.back().literal;
    if (!tail.empty() && tail.back() == '.') tail.remove_suffix(1);
    if (tail.empty()) return t.size() >= 2;   // "<macro>."
    std::size_t dot = tail.rfind('.');
    if (dot == std::string_view::npos) return false;
    return is_toplabel(tail.substr(dot + 1));
}

std::string letter_value(char letter, const MacroValues& v) {
    switch (ascii_lower(letter)) {
        case 's': return v.sender;
        case 'l': return v.local_part;
        case 'o': return v.sender_domain;
        case 'd': return v.domain;
        case 'i': return v.ip_dotted;
        case 'p': return v.validated.empty() ? "unknown" : v.validated;
        case 'h': return v.helo;
        case 'v': return v.ipv6 ? "ip6" : "in-addr";
        case 'c': return v.ip_readable;
        case 'r': return v.receiver.empty() ? "unknown" : v.receiver;
        case 't': return v.timestamp;
    }
    return {};
}

std::string apply_transformers(const Expand& e, const std::string& value) {
    std::string_view delims = e.delimiters.empty() ? std::string_view(".") : std::string_view(e.delimiters);
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || delims.find(value[i]) != std::string_view::npos) {
            parts.push_back(std::string_view(value).substr(start, i - start));
            start = i + 1;
        }
    }
    if (e.reverse) std::reverse(parts.begin(), parts.end());
    std::size_t first = (e.keep && e.keep < parts.size()) ? parts.size() - e.keep : 0;
    std::string out;
    for (std::size_t i = first; i < parts.size(); ++i) {
        if (i > first) out.push_back('.');
        out.append(parts[i]);
    }
    return out;
}

std::string url_escape(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        if (is_unreserved(c)) {
            out.push_back(c);
        } else {
            auto u = static_cast<unsigned char>(c);
            out += {'%', kHex[u >> 4], kHex[u & 15]};
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> macro_syntax_error(std::string_view text, MacroUse use) {
    std::string error;
    auto tokens = tokenize(text, use, error);
    if (!tokens) return error;
    if (use == MacroUse::DomainSpec && !has_domain_end(*tokens))
        return "domain-spec '" + std::string(text) + "' does not end in a macro or a top-level label";
    return std::nullopt;
}

bool uses_validated_name(std::string_view text) {
    std::string error;
    auto tokens = tokenize(text, MacroUse::Explanation, error);
    if (!tokens) return false;
    return std::any_of(tokens->begin(), tokens->end(),
                       [](const Token& t) { return t.expand && ascii_lower(t.expand->letter) == 'p'; });
}

std::optional<std::string> expand_macros(std::string_view text, MacroUse use, const MacroValues& v) {
    if (macro_syntax_error(text, use)) return std::nullopt;
    std::string error;
    auto tokens = tokenize(text, use, error);
    std::string out;
    for (const auto& t : *tokens) {
        if (!t.expand) {
            out += t.literal;
            continue;
        }
        std::string value = apply_transformers(*t.expand, letter_value(t.expand->letter, v));
        bool upper = t.expand->letter >= 'A' && t.expand->letter <= 'Z';
        out += upper ? url_escape(value) : value;
    }
    if (use != MacroUse::DomainSpec) return out;
    if (!out.empty() && out.back() == '.') out.pop_back();
    while (out.size() > kMaxDomainLength) {
        std::size_t dot = out.find('.');
        if (dot == std::string::npos) return std::string{};   // one label over 253: no name
        out.erase(0, dot + 1);
    }
    return out;
}

std::string dotted_ip(std::string_view ip_text) {
    auto ip = parse_ip(ip_text);
    if (!ip) return std::string(ip_text);
    if (ip->is_v4()) return ip->to_string();
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (auto b : ip->bytes) {
        if (!out.empty()) out.push_back('.');
        out += {kHex[b >> 4], '.', kHex[b & 15]};
    }
    return out;
}

}  // namespace asmtpd::proto::spf
