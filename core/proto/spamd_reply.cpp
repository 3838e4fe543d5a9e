// spamd_reply.cpp - spamd's reply and the X-Spam-* fields (grammar in spamd_reply.hpp).
//
// Must never: accept a status line that is not SPAMD/x.y, a verdict whose score is not a
// number, or a body shorter than its Content-length (a cut-off reply is not a verdict).
#include "core/proto/spamd_reply.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kMaxFields = 64;   // spamd sends 2 or 3; more means garbage

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The next line without its CRLF (or LF); false at the end of the input without a line end.
bool next_line(std::string_view& in, std::string_view& line) {
    const auto lf = in.find('\n');
    if (lf == std::string_view::npos) return false;
    line = in.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    in.remove_prefix(lf + 1);
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

bool parse_status_line(std::string_view line, SpamdReply& r, std::string& error) {
    if (!line.starts_with("SPAMD/")) {
        error = "not a spamd reply";
        return false;
    }
    line.remove_prefix(6);
    const auto sp = line.find(' ');
    const std::string_view version = line.substr(0, sp);
    const auto dot = version.find('.');
    if (dot == std::string_view::npos || !all_digits(version.substr(0, dot)) || !all_digits(version.substr(dot + 1))) {
        error = "bad spamd protocol version";
        return false;
    }
    r.version = std::string(version);
    if (sp == std::string_view::npos) {
        error = "spamd status line without a code";
        return false;
    }
    line.remove_prefix(sp + 1);
    const auto sp2 = line.find(' ');
    const std::string_view code = line.substr(0, sp2);
    if (!all_digits(code) || code.size() > 3) {
        error = "bad spamd status code";
        return false;
    }
    r.code = std::atoi(std::string(code).c_str());
    r.message = sp2 == std::string_view::npos ? std::string() : std::string(trim(line.substr(sp2 + 1)));
    return true;
}

bool parse_spam_field(std::string_view value, SpamdReply& r, std::string& error) {
    const auto semi = value.find(';');
    const auto slash = value.find('/');
    if (semi == std::string_view::npos || slash == std::string_view::npos || slash < semi) {
        error = "bad Spam: field";
        return false;
    }
    const std::string_view flag = trim(value.substr(0, semi));
    const std::string_view score = trim(value.substr(semi + 1, slash - semi - 1));
    const std::string_view threshold = trim(value.substr(slash + 1));
    if (iequals(flag, "true") || iequals(flag, "yes")) r.spam = true;
    else if (iequals(flag, "false") || iequals(flag, "no")) r.spam = false;
    else {
        error = "bad Spam: flag";
        return false;
    }
    const auto s = parse_spam_score(score);
    const auto t = parse_spam_score(threshold);
    if (!s || !t) {
        error = "bad Spam: score";
        return false;
    }
    r.has_verdict = true;
    r.score = *s;
    r.threshold = *t;
    r.score_text = std::string(score);
    r.threshold_text = std::string(threshold);
    return true;
}

// RFC 5322 §3.6.8: printable US-ASCII except ':'.
bool field_name(std::string_view name) {
    for (char c : name)
        if (c < 33 || c > 126) return false;
    return true;
}

}  // namespace

std::optional<double> parse_spam_score(std::string_view text) {
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
    const auto dot = digits.find('.');
    if (!all_digits(digits.substr(0, dot))) return std::nullopt;
    if (dot != std::string_view::npos && !all_digits(digits.substr(dot + 1))) return std::nullopt;
    if (text.size() > 32) return std::nullopt;   // no score needs more; keeps strtod bounded
    return std::strtod(std::string(text).c_str(), nullptr);
}

std::optional<SpamdReply> parse_spamd_reply(std::string_view in, std::string& error) {
    SpamdReply r;
    std::string_view line;
    if (!next_line(in, line)) {
        error = in.empty() ? "empty spamd reply" : "spamd reply without a line end";
        return std::nullopt;
    }
    if (!parse_status_line(line, r, error)) return std::nullopt;
    std::optional<std::uint64_t> length;
    for (std::size_t n = 0;; ++n) {
        if (!next_line(in, line)) {
            // An error reply may end right after its status line; a verdict never does.
            if (r.code != 0 && in.empty() && n == 0) return r;
            error = "spamd reply cut off in its header";
            return std::nullopt;
        }
        if (line.empty()) break;
        if (n >= kMaxFields) {
            error = "too many spamd reply fields";
            return std::nullopt;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            error = "bad spamd reply field";
            return std::nullopt;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            std::uint64_t v = 0;
            const auto res = std::from_chars(value.data(), value.data() + value.size(), v);
            if (value.empty() || res.ec != std::errc() || res.ptr != value.data() + value.size()) {
                error = "bad spamd Content-length";
                return std::nullopt;
            }
            length = v;
        } else if (iequals(name, "spam")) {
            if (!parse_spam_field(value, r, error)) return std::nullopt;
        }
    }
    if (length) {
        if (in.size() < *length) {
            error = "spamd reply body shorter than its Content-length";
            return std::nullopt;
        }
        r.body = std::string(in.substr(0, *length));
    } else {
        r.body = std::string(in);
    }
    if (r.ok() && !r.has_verdict) {
        error = "spamd reply without a Spam: field";
        return std::nullopt;
    }
    return r;
}

std::vector<HeaderField> spam_header_fields(std::string_view block) {
    std::vector<HeaderField> out;
    bool in_spam_field = false;   // the last field was X-Spam-*: continuations belong to it
    std::string_view line;
    std::string_view rest = block;
    while (!rest.empty()) {
        if (!next_line(rest, line)) {
            line = rest;
            rest = {};
        }
        if (line.empty()) break;
        // A bare CR or NUL would end or cut the header when we write it: such a line is garbage.
        const bool clean = line.find_first_of(std::string_view("\r\0", 2)) == std::string_view::npos;
        if (line.front() == ' ' || line.front() == '\t') {
            if (in_spam_field && clean) out.back().value += "\r\n" + std::string(line);
            continue;
        }
        const auto colon = line.find(':');
        in_spam_field = clean && colon != std::string_view::npos && colon > 7 && istarts_with(line, "x-spam-") &&
                        field_name(line.substr(0, colon));
        if (!in_spam_field) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        out.push_back({std::string(line.substr(0, colon)), std::string(value)});
    }
    return out;
}

SpamStatus parse_spam_status(std::string_view value) {
    SpamStatus st;
    // Unfold: line ends and the white space after them become one space.
    std::string flat;
    flat.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\r' || c == '\n') {
            while (i + 1 < value.size() && (value[i + 1] == '\r' || value[i + 1] == '\n' || value[i + 1] == ' ' ||
                                            value[i + 1] == '\t'))
                ++i;
            flat += ' ';
        } else {
            flat += c == '\t' ? ' ' : c;
        }
    }
    std::string_view rest = flat;
    const auto comma = rest.find(',');
    st.verdict = std::string(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) return st;
    rest.remove_prefix(comma + 1);
    std::string* last = nullptr;   // value of the previous key=value word
    while (!rest.empty()) {
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        const auto end = rest.find(' ');
        const std::string_view word = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
        if (word.empty()) continue;
        const auto eq = word.find('=');
        if (eq == std::string_view::npos) {
            // The rest of a folded test list ("tests=A,B,\r\n\tC,D").
            if (last && !last->empty() && last->back() == ',') *last += std::string(word);
            continue;
        }
        const std::string key = to_lower(word.substr(0, eq));
        std::string val(word.substr(eq + 1));
        if (key == "score" || (key == "hits" && st.score.empty())) last = &(st.score = std::move(val));
        else if (key == "required") last = &(st.required = std::move(val));
        else if (key == "autolearn") last = &(st.autolearn = std::move(val));
        else if (key == "version") last = &(st.version = std::move(val));
        else if (key == "tests") {
            st.tests.clear();
            st.tests.push_back(std::move(val));   // joined below, once the folds are back
            last = &st.tests.back();
        } else last = nullptr;
    }
    if (!st.tests.empty()) {
        const std::string joined = st.tests.front();
        st.tests.clear();
        std::string_view t = joined;
        while (!t.empty()) {
            const auto c = t.find(',');
            const std::string_view name = t.substr(0, c);
            if (!name.empty() && !iequals(name, "none")) st.tests.emplace_back(name);
            t.remove_prefix(c == std::string_view::npos ? t.size() : c + 1);
        }
    }
    return st;
}

}  // namespace asmtpd::proto
