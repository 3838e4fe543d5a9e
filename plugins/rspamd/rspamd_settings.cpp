// rspamd_settings.cpp - the rspamd plugin's arguments (see rspamd_settings.hpp).
#include "plugins/rspamd/rspamd_settings.hpp"

#include <map>
#include <string_view>

#include "core/proto/header_block.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::uint16_t kRspamdPort = 11333;

// Keys whose value may run over several words.
constexpr std::string_view kTextKeys[] = {"reject.message", "soft_reject.message", "subject"};

constexpr std::string_view kKeys[] = {
    "host", "port", "unix_socket", "timeout", "add_headers", "always_add_headers", "header.bar", "header.report",
    "header.score", "spambar.positive", "spambar.negative", "spambar.neutral", "reject.spam", "reject.authenticated",
    "reject.message", "soft_reject.enabled", "soft_reject.message", "greylist.enabled", "rewrite_subject.enabled",
    "subject", "smtp_message.enabled", "rmilter_headers.enabled", "check.authenticated", "check.relay",
    "check.local_ip", "check.private_ip", "defer.error", "defer.timeout", "request.pass_all", "request.settings_id"};

bool known(std::string_view w) {
    for (auto k : kKeys)
        if (k == w) return true;
    return false;
}

bool text_key(std::string_view w) {
    for (auto k : kTextKeys)
        if (k == w) return true;
    return false;
}

std::optional<bool> parse_bool(std::string_view v) {
    const auto l = proto::to_lower(v);
    if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
    if (l == "false" || l == "no" || l == "off" || l == "0") return false;
    return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_rspamd_settings(const std::vector<std::string>& words, RspamdSettings& s) {
    std::map<std::string, std::string, std::less<>> v;
    for (std::size_t i = 0; i < words.size();) {
        const auto& key = words[i];
        if (!known(key)) return "unknown argument '" + key + "'";
        if (v.count(key)) return "'" + key + "' given twice";
        if (i + 1 >= words.size()) return "'" + key + "' needs a value";
        std::string value = words[i + 1];
        i += 2;
        while (text_key(key) && i < words.size() && !known(words[i])) value += " " + words[i++];
        v[key] = value;
    }
    auto get = [&](std::string_view k) -> const std::string* {
        auto it = v.find(k);
        return it == v.end() ? nullptr : &it->second;
    };
    std::optional<std::string> error;
    auto boolean = [&](std::string_view k, bool& out) {
        if (auto p = get(k)) {
            auto b = parse_bool(*p);
            if (!b) error = "bad " + std::string(k) + " '" + *p + "' (true or false)";
            else out = *b;
        }
    };
    auto header = [&](std::string_view k, std::string& out) {
        if (auto p = get(k)) {
            if (proto::iequals(*p, "none")) out.clear();
            else if (!proto::valid_field_name(*p)) error = "bad " + std::string(k) + " '" + *p + "' (a header name or none)";
            else out = *p;
        }
    };

    if (get("unix_socket") && (get("host") || get("port"))) return "give unix_socket or host/port, not both";
    std::string where;
    if (auto p = get("unix_socket")) {
        if (p->empty() || p->front() != '/') return "unix_socket '" + *p + "': a Unix socket needs an absolute path";
        where = *p;
    } else {
        std::string host = get("host") ? *get("host") : "localhost";
        if (host.find('/') != std::string::npos) return "bad host '" + host + "' (use unix_socket for a socket)";
        std::uint16_t port = kRspamdPort;
        if (auto p = get("port")) {
            auto n = proto::parse_count(*p);
            if (!n || *n == 0 || *n > 65535) return "bad port '" + *p + "'";
            port = static_cast<std::uint16_t>(*n);
        }
        const bool v6 = host.find(':') != std::string::npos && host.front() != '[';
        where = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
    auto target = scanner_target(where, kRspamdPort, get("unix_socket") ? "unix_socket" : "host");
    if (!target) return target.error;
    s.target = *target.hop;

    if (auto p = get("timeout")) {
        auto ms = proto::parse_seconds_ms(*p);
        if (!ms || *ms == 0) return "bad timeout '" + *p + "'";
        s.timeout_ms = *ms;
    }
    if (auto p = get("add_headers")) {
        const auto l = proto::to_lower(*p);
        if (l == "always") s.add_headers = RspamdSettings::AddHeaders::Always;
        else if (l == "sometimes") s.add_headers = RspamdSettings::AddHeaders::Sometimes;
        else if (l == "never") s.add_headers = RspamdSettings::AddHeaders::Never;
        else return "bad add_headers '" + *p + "' (always, sometimes or never)";
    }
    if (get("always_add_headers")) {
        if (get("add_headers")) return "give add_headers or always_add_headers, not both";
        bool always = false;
        boolean("always_add_headers", always);
        if (always) s.add_headers = RspamdSettings::AddHeaders::Always;
    }
    header("header.bar", s.header_bar);
    header("header.report", s.header_report);
    header("header.score", s.header_score);
    for (auto [k, out] : {std::pair{"spambar.positive", &s.bar_positive}, std::pair{"spambar.negative", &s.bar_negative},
                          std::pair{"spambar.neutral", &s.bar_neutral}}) {
        if (auto p = get(k)) {
            if (p->size() > 4 || proto::has_8bit(*p)) return "bad " + std::string(k) + " '" + *p + "' (1 to 4 characters)";
            *out = *p;
        }
    }
    boolean("reject.spam", s.reject_spam);
    boolean("reject.authenticated", s.reject_authenticated);
    boolean("soft_reject.enabled", s.soft_reject);
    boolean("greylist.enabled", s.greylist);
    boolean("rewrite_subject.enabled", s.rewrite_subject);
    boolean("smtp_message.enabled", s.smtp_message);
    boolean("rmilter_headers.enabled", s.milter_headers);
    boolean("check.authenticated", s.check_authenticated);
    boolean("check.relay", s.check_relay);
    boolean("check.local_ip", s.check_local_ip);
    boolean("check.private_ip", s.check_private_ip);
    boolean("defer.error", s.defer_error);
    boolean("defer.timeout", s.defer_timeout);
    boolean("request.pass_all", s.pass_all);
    if (error) return error;
    if (auto p = get("reject.message")) s.reject_message = *p;
    if (auto p = get("soft_reject.message")) s.soft_reject_message = *p;
    if (auto p = get("subject")) s.subject = *p;
    if (auto p = get("request.settings_id")) s.settings_id = *p;
    return std::nullopt;
}

}  // namespace asmtpd::plugins
