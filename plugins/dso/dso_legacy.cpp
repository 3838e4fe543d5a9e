// dso_legacy.cpp - IndiMail plugin calls and their replies (see dso_legacy.hpp).
//
// Must never: read *mesg after the next call into the plugin could have reused its buffer, read
// more than kMaxLegacyMessage bytes of it, or pass a NULL string to plugin code.
#include "plugins/dso/dso_legacy.hpp"

#include <cstring>
#include <vector>

namespace asmtpd::plugins::dso {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// ^\d\d\d[ -]
bool has_code(std::string_view l) { return l.size() >= 4 && digit(l[0]) && digit(l[1]) && digit(l[2]) && (l[3] == ' ' || l[3] == '-'); }

}  // namespace

LegacyJob LegacyJob::capture(hooks::Context& ctx, hooks::Hook hook, const hooks::HookArgs& args) {
    const auto& c = ctx.connection();
    const hooks::Transaction* txn = ctx.transaction();
    LegacyJob j;
    const auto* path = std::get_if<hooks::AddressArgs>(&args);
    switch (hook) {
        case hooks::Hook::Mail:
            j.fn = Fn::Mail;
            j.a = c.remote_ip;
            j.b = path ? path->address.bare() : std::string();
            break;
        case hooks::Hook::Rcpt:
            j.fn = Fn::Rcpt;
            j.a = c.remote_ip;
            j.b = txn && txn->sender ? txn->sender->bare() : std::string();
            j.c = path ? path->address.bare() : std::string();
            break;
        default: {
            j.fn = Fn::Data;
            j.a = ctx.server().hostname;
            j.b = c.remote_ip;
            j.c = c.remote_host.empty() ? "unknown" : c.remote_host;   // qmail's remotehost
            if (!c.auth_user.empty()) j.d = c.auth_user;                  // qmail's remoteinfo
            else if (auto it = c.env.find("TCPREMOTEINFO"); it != c.env.end()) j.d = it->second;
            break;
        }
    }
    return j;
}

void LegacyJob::run(const IndimailPlugin& p) {
    char* m = nullptr;
    try {
        switch (fn) {
            case Fn::Mail: rc = p.mail_func ? p.mail_func(a.c_str(), b.c_str(), &m) : 0; break;
            case Fn::Rcpt: rc = p.rcpt_func ? p.rcpt_func(a.c_str(), b.c_str(), c.c_str(), &m) : 0; break;
            case Fn::Data:
                rc = p.data_func ? p.data_func(a.c_str(), b.c_str(), c.c_str(), d.c_str(), &m) : 0;
                break;
        }
    } catch (...) {
        threw = true;
        return;
    }
    // Copied at once: the plugin's static buffer belongs to the next call.
    if (rc != 0 && m) mesg = std::string(m, ::strnlen(m, kMaxLegacyMessage));
}

std::optional<proto::Reply> parse_legacy_message(std::string_view m) {
    // The message itself must start with the code (a leading blank line is malformed too).
    if (!has_code(m) || (m[0] != '4' && m[0] != '5')) return std::nullopt;
    std::vector<std::string_view> lines;
    while (!m.empty() && lines.size() < kMaxLegacyLines) {
        std::size_t nl = m.find('\n');
        std::string_view line = m.substr(0, nl);
        m.remove_prefix(nl == std::string_view::npos ? m.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) lines.push_back(line);
    }
    std::string_view first = lines.front();
    proto::Reply r;
    r.code = (first[0] - '0') * 100 + (first[1] - '0') * 10 + (first[2] - '0');
    // The client gets one reply: every line carries the first line's code (a continuation
    // line's own code, if any, is replaced).
    for (std::string_view l : lines) r.lines.emplace_back(has_code(l) ? l.substr(4) : l);
    return r;
}

hooks::Verdict legacy_fallback() {
    hooks::Verdict v = hooks::Verdict::deny_soft();
    v.reply = proto::Reply{451, "4.3.0", {"rejected by plugin"}};
    v.verbatim = true;
    return v;
}

hooks::Verdict legacy_verdict(int rc, const std::optional<std::string>& mesg) {
    if (rc == 0) return hooks::Verdict::declined();
    if (!mesg) return legacy_fallback();
    auto reply = parse_legacy_message(*mesg);
    if (!reply) return legacy_fallback();
    hooks::Verdict v = reply->code < 500 ? hooks::Verdict::deny_soft() : hooks::Verdict::deny();
    v.reply = std::move(*reply);
    v.verbatim = true;
    return v;
}

}  // namespace asmtpd::plugins::dso
