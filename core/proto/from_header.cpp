// from_header.cpp - a small tokenizer over the From field value, then the mailbox/group
// grammar on its tokens. See from_header.hpp.
#include "core/proto/from_header.hpp"

#include <algorithm>
#include <optional>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

// Tokens: Word (an atom or a quoted string), a special character, or a domain literal.
struct Token {
    enum class Kind { Word, Quoted, Special, Literal } kind;
    std::string_view text;   // for Special: the one character
};

constexpr std::string_view kSpecials = "()<>[]:;@\\,.\"";

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_atext(char c) { return !is_ctl(c) && c != ' ' && kSpecials.find(c) == std::string_view::npos; }

// Splits the value into tokens, dropping CFWS. nullopt + error for an unterminated quoted
// string, comment or domain literal, or a control character outside them.
std::optional<std::vector<Token>> tokenize(std::string_view v, std::string& error) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < v.size()) {
        const char c = v[i];
        if (is_wsp(c)) { ++i; continue; }
        if (c == '(') {
            int depth = 0;
            for (; i < v.size(); ++i) {
                if (v[i] == '\\') { ++i; continue; }
                if (v[i] == '(') ++depth;
                if (v[i] == ')' && --depth == 0) break;
            }
            if (i >= v.size()) { error = "unterminated comment"; return std::nullopt; }
            ++i;
            continue;
        }
        if (c == '"') {
            const std::size_t start = i++;
            for (; i < v.size() && v[i] != '"'; ++i)
                if (v[i] == '\\') ++i;
            if (i >= v.size()) { error = "unterminated quoted string"; return std::nullopt; }
            out.push_back({Token::Kind::Quoted, v.substr(start, ++i - start)});
            continue;
        }
        if (c == '[') {
            const std::size_t start = i;
            for (; i < v.size() && v[i] != ']'; ++i)
                if (v[i] == '\\') ++i;
            if (i >= v.size()) { error = "unterminated domain literal"; return std::nullopt; }
            out.push_back({Token::Kind::Literal, v.substr(start, ++i - start)});
            continue;
        }
        if (kSpecials.find(c) != std::string_view::npos) {
            out.push_back({Token::Kind::Special, v.substr(i++, 1)});
            continue;
        }
        if (!is_atext(c)) { error = "control character in field"; return std::nullopt; }
        const std::size_t start = i;
        while (i < v.size() && is_atext(v[i])) ++i;
        out.push_back({Token::Kind::Word, v.substr(start, i - start)});
    }
    return out;
}

bool special(const Token& t, char c) { return t.kind == Token::Kind::Special && t.text[0] == c; }

// A DNS-name-like dot-atom: labels of letters, digits, '-' (not first or last) and '_'
// (8-bit bytes allowed for IDNs written in UTF-8), none empty, at most 63 octets, 253 in all.
bool dns_like(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    while (true) {
        const std::size_t dot = d.find('.');
        const std::string_view label = d.substr(0, dot);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!is_alnum(c) && c != '-' && c != '_' && !is_8bit(c)) return false;
        if (dot == std::string_view::npos) return true;
        d.remove_prefix(dot + 1);
    }
}

class Parser {
public:
    explicit Parser(const std::vector<Token>& t) : t_(t) {}

    FromAuthors run() {
        FromAuthors out;
        while (pos_ < t_.size()) {
            if (special(t_[pos_], ',')) { ++pos_; continue; }   // obs-mbox-list allows empty members
            if (!address(out) || (pos_ < t_.size() && !special(t_[pos_], ','))) {
                out.domains.clear();
                out.error = error_.empty() ? "text after an address" : error_;
                return out;
            }
        }
        if (out.domains.empty() && out.error.empty()) out.error = "no address";
        return out;
    }

private:
    // One mailbox or group at pos_; leaves pos_ on the ',' or the end.
    bool address(FromAuthors& out) {
        // A phrase (display name or local part) runs to the first '<', ':', '@', ',' or ';'.
        std::size_t i = pos_;
        while (i < t_.size() && !special(t_[i], '<') && !special(t_[i], ':') && !special(t_[i], '@') &&
               !special(t_[i], ',') && !special(t_[i], ';'))
            ++i;
        if (i < t_.size() && special(t_[i], ':')) {   // group: display-name ":" [list] ";"
            if (i == pos_) return fail("group without a name");
            pos_ = i + 1;
            while (pos_ < t_.size() && !special(t_[pos_], ';')) {
                if (special(t_[pos_], ',')) { ++pos_; continue; }
                if (!mailbox(out)) return false;
                if (pos_ < t_.size() && !special(t_[pos_], ',') && !special(t_[pos_], ';'))
                    return fail("text after an address");
            }
            if (pos_ >= t_.size()) return fail("group without ';'");
            ++pos_;
            return true;
        }
        return mailbox(out);
    }

    bool mailbox(FromAuthors& out) {
        std::size_t i = pos_;
        while (i < t_.size() && !special(t_[i], '<') && !special(t_[i], '@') && !special(t_[i], ',') &&
               !special(t_[i], ';'))
            ++i;
        if (i < t_.size() && special(t_[i], '<')) {   // name-addr: the phrase before is the display name
            pos_ = i + 1;
            if (pos_ < t_.size() && special(t_[pos_], '@')) {   // obs-route "@a,@b:" is skipped
                while (pos_ < t_.size() && !special(t_[pos_], ':') && !special(t_[pos_], '>')) ++pos_;
                if (pos_ >= t_.size() || !special(t_[pos_], ':')) return fail("bad route in angle address");
                ++pos_;
            }
            if (!addr_spec(out)) return false;
            if (pos_ >= t_.size() || !special(t_[pos_], '>')) return fail("unterminated angle address");
            ++pos_;
            return true;
        }
        return addr_spec(out);
    }

    // local-part "@" domain, at pos_.
    bool addr_spec(FromAuthors& out) {
        // obs-local-part: words and quoted strings with dots in any order (a display name
        // written without angle brackets lands here too; only the domain matters).
        std::size_t words = 0;
        while (pos_ < t_.size() && !special(t_[pos_], '@')) {
            const Token& t = t_[pos_];
            if (t.kind == Token::Kind::Word || t.kind == Token::Kind::Quoted) ++words;
            else if (!special(t, '.')) return fail("malformed local part");
            ++pos_;
        }
        if (words == 0) return fail("address without a local part");
        if (pos_ >= t_.size()) return fail("address without '@'");
        ++pos_;
        std::string domain;
        if (pos_ < t_.size() && t_[pos_].kind == Token::Kind::Literal) return fail("domain literal in From");
        bool want_label = true;
        while (pos_ < t_.size()) {
            const Token& t = t_[pos_];
            if (want_label && t.kind == Token::Kind::Word) domain += t.text;
            else if (!want_label && special(t, '.')) domain += '.';
            else break;
            want_label = !want_label;
            ++pos_;
        }
        if (!domain.empty() && domain.back() == '.') domain.pop_back();   // a final dot: the FQDN form
        if (!dns_like(domain)) return fail("domain is not a host name");
        out.domains.push_back(to_lower(domain));
        return true;
    }

    bool fail(std::string why) {
        error_ = std::move(why);
        return false;
    }

    const std::vector<Token>& t_;
    std::size_t pos_ = 0;
    std::string error_;
};

}  // namespace

FromAuthors parse_from_field(std::string_view value) {
    FromAuthors out;
    auto tokens = tokenize(value, out.error);
    if (!tokens) return out;
    return Parser(*tokens).run();
}

Authors author_domains(std::string_view block) {
    Authors out;
    std::vector<std::string> values;   // each From field's value, folding kept
    bool in_from = false;
    while (!block.empty()) {
        std::size_t eol = block.find('\n');
        std::string_view line = block.substr(0, eol);
        block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;   // the end of the header block
        if (line.front() == ' ' || line.front() == '\t') {
            if (in_from) values.back().append("\r\n").append(line);
            continue;
        }
        const std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        in_from = colon != std::string_view::npos && iequals(name, "From");
        if (in_from) values.emplace_back(line.substr(colon + 1));
    }
    if (values.empty()) {
        out.problem = AuthorProblem::NoFrom;
        return out;
    }
    if (values.size() > 1) {
        out.problem = AuthorProblem::SeveralFrom;
        return out;
    }
    FromAuthors a = parse_from_field(values.front());
    if (!a.ok()) {
        out.problem = a.error == "no address" ? AuthorProblem::NoDomain : AuthorProblem::Unparseable;
        out.detail = a.error;
        return out;
    }
    for (auto& d : a.domains)
        if (std::find(out.domains.begin(), out.domains.end(), d) == out.domains.end()) out.domains.push_back(std::move(d));
    return out;
}

std::string_view to_string(AuthorProblem p) {
    switch (p) {
        case AuthorProblem::None: return "";
        case AuthorProblem::NoFrom: return "no From field";
        case AuthorProblem::SeveralFrom: return "multiple From fields";
        case AuthorProblem::Unparseable: return "unparseable From field";
        case AuthorProblem::NoDomain: return "no address in From field";
    }
    return "";
}

}  // namespace asmtpd::proto
