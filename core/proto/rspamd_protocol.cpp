// rspamd_protocol.cpp - rspamd's /checkv2 request head and JSON reply (see rspamd_protocol.hpp).
//
// Must never: throw (nlohmann is used with allow_exceptions = false and every value's type is
// checked before it is read), let a control character into a request field, or hand back a
// score that is not a finite number.
#include "core/proto/rspamd_protocol.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/proto/header_block.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

using Json = nlohmann::ordered_json;

bool token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_alnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
    return true;
}

std::string clean_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v)
        if (!is_ctl(c) || c == '\t') out += c;
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    std::size_t lead = 0;
    while (lead < out.size() && (out[lead] == ' ' || out[lead] == '\t')) ++lead;
    return out.substr(lead);
}

// Nesting depth of a JSON text, strings skipped; stops counting past the limit.
bool too_deep(std::string_view s) {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

bool number(const Json& j, double& out) {
    if (!j.is_number()) return false;
    out = j.get<double>();
    return std::isfinite(out);
}

std::optional<std::string> string_of(const Json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

bool read_symbols(const Json& j, RspamdReply& r, std::string& error) {
    if (!j.is_object()) {
        error = "symbols is not an object";
        return false;
    }
    for (auto it = j.begin(); it != j.end() && r.symbols.size() < kMaxRspamdSymbols; ++it) {
        if (!it.value().is_object()) continue;
        RspamdSymbol s;
        s.name = string_of(it.value(), "name").value_or(it.key());
        if (s.name.empty()) continue;
        if (auto sc = it.value().find("score"); sc != it.value().end() && !number(*sc, s.score)) {
            error = "symbol score is not a number";
            return false;
        }
        if (auto o = it.value().find("options"); o != it.value().end() && o->is_array())
            for (const auto& opt : *o)
                if (opt.is_string()) s.options.push_back(opt.get<std::string>());
        r.symbols.push_back(std::move(s));
    }
    return true;
}

void add_header_value(RspamdReply& r, const std::string& name, const Json& v) {
    if (v.is_string()) {
        r.add_headers.push_back({name, v.get<std::string>(), std::nullopt});
    } else if (v.is_object()) {
        auto value = string_of(v, "value");
        if (!value) return;
        RspamdAddHeader h{name, *value, std::nullopt};
        if (auto o = v.find("order"); o != v.end() && o->is_number_integer() && o->get<long long>() >= 0)
            h.order = static_cast<std::size_t>(o->get<long long>());
        r.add_headers.push_back(std::move(h));
    }
}

void read_milter(const Json& m, RspamdReply& r) {
    if (!m.is_object()) return;
    if (auto add = m.find("add_headers"); add != m.end() && add->is_object()) {
        for (auto it = add->begin(); it != add->end(); ++it) {
            if (!valid_field_name(it.key())) continue;
            if (it.value().is_array())
                for (const auto& v : it.value()) add_header_value(r, it.key(), v);
            else add_header_value(r, it.key(), it.value());
        }
    }
    if (auto rm = m.find("remove_headers"); rm != m.end() && rm->is_object()) {
        for (auto it = rm->begin(); it != rm->end(); ++it) {
            if (!valid_field_name(it.key())) continue;
            long long n = 0;
            if (it.value().is_number_integer()) n = it.value().get<long long>();
            r.remove_headers.push_back({it.key(), n});
        }
    }
}

}  // namespace

std::string rspamd_request_head(const RspamdRequest& r) {
    std::string out = fmt::format("POST {} HTTP/1.1\r\n", r.path.empty() ? "/checkv2" : clean_value(r.path));
    if (auto host = clean_value(r.host); !host.empty()) out += "Host: " + host + "\r\n";
    out += fmt::format("Connection: close\r\nContent-Length: {}\r\n", r.content_length);
    for (const auto& [name, value] : r.fields) {
        auto v = clean_value(value);
        if (!token(name) || v.empty()) continue;
        out += name + ": " + v + "\r\n";
    }
    out += "\r\n";
    return out;
}

std::optional<RspamdReply> parse_rspamd_reply(std::string_view json, std::string& error) {
    if (too_deep(json)) {
        error = "JSON nested too deep";
        return std::nullopt;
    }
    const Json j = Json::parse(json.begin(), json.end(), nullptr, false);
    if (j.is_discarded()) {
        error = "not JSON";
        return std::nullopt;
    }
    if (!j.is_object()) {
        error = "not a JSON object";
        return std::nullopt;
    }
    if (auto e = j.find("error"); e != j.end() && j.find("action") == j.end()) {
        error = "rspamd error: " + (e->is_string() ? clean_value(e->get<std::string>()) : std::string("(not a string)"));
        return std::nullopt;
    }
    RspamdReply r;
    auto action = string_of(j, "action");
    if (!action) {
        error = "no action in the reply";
        return std::nullopt;
    }
    r.action = to_lower(*action);
    for (auto [key, out] : {std::pair{"score", &r.score}, std::pair{"required_score", &r.required_score}}) {
        auto it = j.find(key);
        if (it != j.end() && !number(*it, *out)) {
            error = std::string(key) + " is not a number";
            return std::nullopt;
        }
    }
    if (auto s = j.find("is_skipped"); s != j.end() && s->is_boolean()) r.is_skipped = s->get<bool>();
    if (auto s = j.find("symbols"); s != j.end() && !read_symbols(*s, r, error)) return std::nullopt;
    if (auto m = j.find("messages"); m != j.end() && m->is_object())
        r.smtp_message = string_of(*m, "smtp_message").value_or("");
    r.subject = string_of(j, "subject");
    if (auto m = j.find("milter"); m != j.end()) read_milter(*m, r);
    return r;
}

std::string rspamd_number(double n) {
    if (n == 0) return "0";   // -0 too
    return fmt::format("{}", n);
}

std::string rspamd_bar(double score, std::string_view positive, std::string_view negative, std::string_view neutral) {
    auto repeat = [](std::string_view unit, double points) {
        const int n = points >= kMaxBar ? kMaxBar : static_cast<int>(std::floor(points));
        std::string out;
        for (int i = 0; i < n; ++i) out += unit;
        return out;
    };
    if (score >= 1) return repeat(positive, score);
    if (score <= -1) return repeat(negative, -score);
    return std::string(neutral);
}

std::string rspamd_report(const std::vector<RspamdSymbol>& symbols) {
    std::string out;
    for (const auto& s : symbols) {
        if (s.score == 0) continue;
        if (!out.empty()) out += ' ';
        out += s.name + "(" + rspamd_number(s.score) + ")";
    }
    return out;
}

std::string rspamd_note(const RspamdReply& r) {
    std::string symbols;
    for (const auto& s : r.symbols) symbols += (symbols.empty() ? "" : ",") + s.name + "(" + rspamd_number(s.score) + ")";
    return fmt::format("{}, score={} required={} symbols={}", r.action, rspamd_number(r.score),
                       rspamd_number(r.required_score), symbols.empty() ? "none" : symbols);
}

std::string rspamd_subject(std::string_view templ, std::string_view old_subject) {
    const auto at = templ.find("%s");
    if (at == std::string_view::npos) return std::string(templ);
    return std::string(templ.substr(0, at)) + std::string(old_subject) + std::string(templ.substr(at + 2));
}

}  // namespace asmtpd::proto
