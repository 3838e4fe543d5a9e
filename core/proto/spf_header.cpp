// spf_header.cpp - Received-SPF (RFC 7208 §9.1) and the "spf" transaction note.
#include "core/proto/spf_header.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto::spf {

namespace {

constexpr std::size_t kMaxValue = 200;   // keeps the whole field well under 998 octets

// Printable ASCII only; everything else becomes '?'.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, kMaxValue)) out.push_back((c >= 0x20 && c <= 0x7e) ? c : '?');
    return out;
}

// RFC 5322 atext plus '.', with no leading, trailing or double dot.
bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) return false;
    for (char c : s) {
        if (is_alnum(c) || c == '.') continue;
        if (std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) == std::string_view::npos) return false;
    }
    return true;
}

std::string value(std::string_view raw) {
    std::string s = printable(raw);
    if (is_dot_atom(s)) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out + "\"";
}

// A comment may not hold unbalanced parentheses or escapes: drop them.
std::string comment_text(std::string_view s) {
    std::string out;
    for (char c : printable(s))
        if (c != '(' && c != ')' && c != '\\') out.push_back(c);
    return out;
}

std::string comment(const Outcome& o, const HeaderFacts& f) {
    const std::string& who = o.sender;
    const std::string& ip = f.client_ip;
    std::string text;
    switch (o.result) {
        case Result::Pass: text = "domain of " + who + " designates " + ip + " as permitted sender"; break;
        case Result::Fail: text = "domain of " + who + " does not designate " + ip + " as permitted sender"; break;
        case Result::SoftFail:
            text = "domain of transitioning " + who + " does not designate " + ip + " as permitted sender";
            break;
        case Result::Neutral: text = ip + " is neither permitted nor denied by domain of " + who; break;
        case Result::None: text = "domain of " + who + " does not designate permitted sender hosts"; break;
        case Result::TempError: text = "temporary error in processing during lookup of " + who; break;
        case Result::PermError: text = "permanent error in processing domain of " + who; break;
    }
    return comment_text(f.receiver + ": " + text);
}

}  // namespace

std::string reason(const Outcome& o) {
    if (o.result == Result::TempError || o.result == Result::PermError || o.result == Result::None) return o.problem;
    if (o.result == Result::Fail && !o.explanation.empty()) return o.explanation;
    return o.mechanism.empty() ? std::string() : "matched " + o.mechanism;
}

std::string received_spf(const Outcome& o, const HeaderFacts& f) {
    std::string h(to_string(o.result));
    h += " (" + comment(o, f) + ")";
    h += " client-ip=" + value(f.client_ip) + ";";
    h += " envelope-from=" + value(f.envelope_from) + ";";
    h += " helo=" + value(f.helo) + ";";
    h += " receiver=" + value(f.receiver) + ";";
    h += " identity=" + std::string(to_string(o.identity)) + ";";
    if (!o.mechanism.empty()) h += " mechanism=" + value(o.mechanism) + ";";
    if (!o.problem.empty() && (o.result == Result::TempError || o.result == Result::PermError))
        h += " problem=" + value(o.problem) + ";";
    return h;
}

std::optional<Result> result_from_string(std::string_view s) {
    for (Result r : {Result::None, Result::Neutral, Result::Pass, Result::Fail, Result::SoftFail,
                     Result::TempError, Result::PermError})
        if (to_string(r) == s) return r;
    return std::nullopt;
}

std::string spf_note(const Outcome& o) {
    std::string domain = printable(o.domain);   // one token: the reader splits at spaces
    for (char& c : domain)
        if (c == ' ') c = '?';
    if (domain.empty()) domain = "?";
    return std::string(to_string(o.result)) + " identity=" + std::string(to_string(o.identity)) +
           " domain=" + domain + " reason=" + printable(reason(o));
}

std::optional<SpfNote> parse_spf_note(std::string_view note) {
    SpfNote n;
    auto take = [&](std::string_view key) -> std::optional<std::string_view> {
        if (note.substr(0, key.size()) != key) return std::nullopt;
        note.remove_prefix(key.size());
        return note;
    };
    std::size_t sp = note.find(' ');
    auto r = result_from_string(note.substr(0, sp));
    if (!r || sp == std::string_view::npos) return std::nullopt;
    n.result = *r;
    note.remove_prefix(sp + 1);
    if (!take("identity=")) return std::nullopt;
    sp = note.find(' ');
    std::string_view id = note.substr(0, sp);
    if (id != "mailfrom" && id != "helo") return std::nullopt;
    n.identity = id == "helo" ? Identity::Helo : Identity::MailFrom;
    if (sp == std::string_view::npos) return std::nullopt;
    note.remove_prefix(sp + 1);
    if (!take("domain=")) return std::nullopt;
    sp = note.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    n.domain = std::string(note.substr(0, sp));
    note.remove_prefix(sp + 1);
    if (!take("reason=")) return std::nullopt;
    n.reason = std::string(note);
    return n;
}

}  // namespace asmtpd::proto::spf
