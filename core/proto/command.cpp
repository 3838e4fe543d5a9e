// command.cpp - command line split, MAIL/RCPT argument grammar, ESMTP parameters, xtext.
//
// Total functions over untrusted bytes: they return a value or the 501 the client gets, and
// never guess. The path is only delimited here (by its brackets, honouring quotes and
// quoted pairs); its grammar belongs to parse_path. Parameters must be clean: no controls,
// no NUL, no 8-bit unless valid UTF-8 (RELIABILITY P8, Exim 21Nails). Pure: no I/O, no logging.
#include "core/proto/command.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxVerb = 12;

Reply param_error() { return Reply::make(501, "5.5.4", "Syntax error in parameters"); }

std::string_view trim_trailing(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string_view skip_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

// Index one past the ">" closing the path that starts at s[0] == '<', or npos. A '>' inside
// a quoted local part, or escaped by a quoted pair, does not close the path.
std::size_t path_end(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 1; i < s.size(); ++i) {
        char c = s[i];
        if (quoted) {
            if (c == '\\') {
                ++i;  // the escaped character, whatever it is; parse_path judges it
            } else if (c == '"') {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '>') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

bool valid_keyword(std::string_view k) {
    if (k.empty() || !is_alnum(k.front())) return false;
    for (char c : k) {
        if (!is_alnum(c) && c != '-') return false;
    }
    return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126 / UTF-8 non-ASCII)
bool valid_value(std::string_view v) {
    if (v.empty()) return false;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) continue;
        if (u < 33 || u > 126 || c == '=') return false;
    }
    return !has_8bit(v) || valid_utf8(v);
}

Expected<PathArgs> parse_path_args(std::string_view args, std::string_view prefix,
                                   std::string_view usage, bool empty_is_null) {
    args = trim_trailing(skip_spaces(args));
    if (!istarts_with(args, prefix)) return Reply::make(501, "5.5.4", usage);
    std::string_view rest = skip_spaces(args.substr(prefix.size()));

    PathArgs out;
    if (rest.empty()) {
        // "MAIL FROM:" with nothing after it is the null sender; for RCPT it is an error.
        if (!empty_is_null) return Reply::make(501, "5.5.4", usage);
        out.path = "<>";
        return out;
    }
    if (rest.front() != '<') return Reply::make(501, "5.5.4", usage);
    auto end = path_end(rest);
    if (end == std::string_view::npos) return Reply::make(501, "5.5.4", usage);
    out.path = std::string(rest.substr(0, end));
    rest.remove_prefix(end);
    if (!rest.empty() && rest.front() != ' ') return Reply::make(501, "5.5.4", usage);

    while (true) {
        rest = skip_spaces(rest);
        if (rest.empty()) break;
        auto sp = rest.find(' ');
        std::string_view word = rest.substr(0, sp);
        rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);

        EsmtpParam p;
        auto eq = word.find('=');
        std::string_view key = word.substr(0, eq);
        if (!valid_keyword(key)) return param_error();
        p.keyword = to_upper(key);
        if (eq != std::string_view::npos) {
            std::string_view value = word.substr(eq + 1);
            if (!valid_value(value)) return param_error();
            p.value = std::string(value);
        }
        if (out.find(p.keyword) != nullptr) {
            return Reply::make(501, "5.5.4", "Duplicate parameter " + p.keyword);
        }
        out.params.push_back(std::move(p));
    }
    return out;
}

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    return ascii_upper(c) - 'A' + 10;
}

}  // namespace

Command parse_command(std::string_view line) {
    Command cmd;
    auto sp = line.find(' ');
    std::string_view verb = line.substr(0, sp);
    cmd.verb = to_upper(verb);
    if (sp != std::string_view::npos) cmd.args = std::string(trim_trailing(line.substr(sp + 1)));
    cmd.valid_verb = !verb.empty() && verb.size() <= kMaxVerb;
    for (char c : verb) {
        if (!is_alnum(c)) cmd.valid_verb = false;
    }
    return cmd;
}

const EsmtpParam* PathArgs::find(std::string_view keyword) const {
    for (const auto& p : params) {
        if (iequals(p.keyword, keyword)) return &p;
    }
    return nullptr;
}

Expected<PathArgs> parse_mail_args(std::string_view args) {
    return parse_path_args(args, "FROM:", "Syntax: MAIL FROM:<address>", true);
}

Expected<PathArgs> parse_rcpt_args(std::string_view args) {
    return parse_path_args(args, "TO:", "Syntax: RCPT TO:<address>", false);
}

std::optional<std::string> decode_xtext(std::string_view xtext) {
    std::string out;
    out.reserve(xtext.size());
    for (std::size_t i = 0; i < xtext.size(); ++i) {
        char c = xtext[i];
        auto u = static_cast<unsigned char>(c);
        if (c == '+') {
            // hexchar = "+" 2HEXDIG; lower case is tolerated, it decodes to the same octet
            if (i + 2 >= xtext.size()) return std::nullopt;
            if (!is_hex(xtext[i + 1]) || !is_hex(xtext[i + 2])) return std::nullopt;
            char d = static_cast<char>(hex_value(xtext[i + 1]) * 16 + hex_value(xtext[i + 2]));
            if (is_ctl(d)) return std::nullopt;
            out += d;
            i += 2;
        } else if (u < 33 || u > 126 || c == '=') {
            return std::nullopt;  // xchar = %d33-42 / %d44-60 / %d62-126
        } else {
            out += c;
        }
    }
    if (!valid_utf8(out)) return std::nullopt;
    return out;
}

}  // namespace asmtpd::proto
