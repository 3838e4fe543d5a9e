// control_protocol.cpp - the control socket's request line and JSON reply (see the header).
#include "core/proto/control_protocol.hpp"

#include <array>

namespace asmtpd::proto {

namespace {

constexpr std::array<std::string_view, 4> kVerbs{"status", "reload", "drain", "plugins"};

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Printable ASCII of at most 40 bytes, for an error message that quotes the client.
std::string quoted(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > 40) out += "...";
    return out;
}

std::string dump(const nlohmann::json& j) {
    // replace: a byte sequence that is not UTF-8 never throws (plugin names are ASCII anyway)
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string_view control_verb_name(ControlVerb v) {
    const auto i = static_cast<std::size_t>(v);
    return i < kVerbs.size() ? kVerbs[i] : "unknown";
}

std::optional<ControlVerb> control_verb(std::string_view word) {
    for (std::size_t i = 0; i < kVerbs.size(); ++i) {
        if (word.size() != kVerbs[i].size()) continue;
        bool same = true;
        for (std::size_t k = 0; k < word.size() && same; ++k) same = lower(word[k]) == kVerbs[i][k];
        if (same) return static_cast<ControlVerb>(i);
    }
    return std::nullopt;
}

ControlRequestParse parse_control_request(std::string_view input) {
    ControlRequestParse p;
    const std::size_t lf = input.substr(0, kMaxControlLine).find('\n');
    if (lf == std::string_view::npos) {
        if (input.size() < kMaxControlLine) return p;   // Incomplete
        p.status = ControlRequestParse::Status::Invalid;
        p.error = "request line longer than " + std::to_string(kMaxControlLine) + " bytes";
        return p;
    }
    p.consumed = lf + 1;
    std::string_view line = input.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    p.status = ControlRequestParse::Status::Invalid;
    if (line.empty()) {
        p.error = "empty request; expected one of status, reload, drain, plugins";
        return p;
    }
    std::size_t end = 0;
    while (end < line.size() && !is_space(line[end])) ++end;
    const std::string_view word = line.substr(0, end);
    const auto verb = control_verb(word);
    if (!verb) {
        p.error = "unknown command '" + quoted(word) + "'; expected one of status, reload, drain, plugins";
        return p;
    }
    if (end != line.size()) {
        p.error = std::string(control_verb_name(*verb)) + " takes no arguments";
        return p;
    }
    p.status = ControlRequestParse::Status::Complete;
    p.verb = *verb;
    return p;
}

std::string control_ok_reply(ControlVerb verb, nlohmann::json body) {
    if (!body.is_object()) body = nlohmann::json::object();
    body["ok"] = true;
    body["command"] = std::string(control_verb_name(verb));
    return dump(body);
}

std::string control_error_reply(std::string_view error, nlohmann::json body) {
    if (!body.is_object()) body = nlohmann::json::object();
    body["ok"] = false;
    body["error"] = std::string(error);
    return dump(body);
}

std::optional<ControlReply> parse_control_reply(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    const auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean()) return std::nullopt;
    ControlReply r;
    r.ok = ok->get<bool>();
    if (const auto e = j.find("error"); e != j.end()) {
        if (!e->is_string()) return std::nullopt;
        r.error = e->get<std::string>();
    }
    r.body = std::move(j);
    return r;
}

}  // namespace asmtpd::proto
