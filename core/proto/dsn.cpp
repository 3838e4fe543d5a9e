// dsn.cpp - RFC 3461 parameters (see dsn.hpp). Pure: no I/O.
//
// Must never: accept a value that decodes to a control character or could not be sent on
// unchanged; emit anything but xchars, "+XX" and the fixed words.
#include "core/proto/dsn.hpp"

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

Reply bad(std::string_view keyword) {
    return Reply::make(501, "5.5.4", "Syntax error in " + std::string(keyword) + " parameter");
}

bool atom_char(char c) {
    // RFC 5322 atext.
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')) return true;
    // Without "=": no esmtp-value holds one (RFC 5321 §4.1.2), so neither may what we send.
    return std::string_view("!#$%&'*+-/?^_`{|}~").find(c) != std::string_view::npos;
}

}  // namespace

Expected<DsnNotify> parse_dsn_notify(std::string_view value) {
    DsnNotify n;
    if (iequals(value, "NEVER")) return n;
    if (value.empty()) return bad("NOTIFY");
    std::size_t pos = 0;
    while (pos <= value.size()) {
        const std::size_t end = std::min(value.find(',', pos), value.size());
        const std::string_view word = value.substr(pos, end - pos);
        bool* flag = iequals(word, "SUCCESS") ? &n.success
                     : iequals(word, "FAILURE") ? &n.failure
                     : iequals(word, "DELAY")   ? &n.delay
                                                : nullptr;
        if (!flag || *flag) return bad("NOTIFY");   // unknown, empty, NEVER in a list, or twice
        *flag = true;
        pos = end + 1;
    }
    return n;
}

std::string format_dsn_notify(const DsnNotify& n) {
    if (n.never()) return "NEVER";
    std::string out;
    for (auto [on, word] : {std::pair{n.success, "SUCCESS"}, {n.failure, "FAILURE"}, {n.delay, "DELAY"}}) {
        if (!on) continue;
        if (!out.empty()) out += ',';
        out += word;
    }
    return out;
}

Expected<DsnRet> parse_dsn_ret(std::string_view value) {
    if (iequals(value, "FULL")) return DsnRet::Full;
    if (iequals(value, "HDRS")) return DsnRet::Hdrs;
    return bad("RET");
}

std::string_view to_string(DsnRet r) { return r == DsnRet::Full ? "FULL" : "HDRS"; }

Expected<std::string> parse_dsn_envid(std::string_view xtext) {
    auto d = decode_xtext(xtext);
    if (!d || d->empty() || d->size() > kDsnMaxEnvid) return bad("ENVID");
    for (char c : *d)
        if (c < 0x20 || c > 0x7e) return bad("ENVID");
    return *d;
}

Expected<DsnOrcpt> parse_dsn_orcpt(std::string_view value) {
    if (value.size() > kDsnMaxOrcpt) return bad("ORCPT");
    const std::size_t semi = value.find(';');
    if (semi == std::string_view::npos || semi == 0) return bad("ORCPT");
    const std::string_view type = value.substr(0, semi);
    for (char c : type)
        if (!atom_char(c)) return bad("ORCPT");
    auto addr = decode_xtext(value.substr(semi + 1));
    if (!addr || addr->empty()) return bad("ORCPT");
    return DsnOrcpt{std::string(type), std::move(*addr)};
}

std::string encode_xtext(std::string_view raw) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(raw.size());
    for (char c : raw) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == '+' || c == '=') {
            out += '+';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_dsn_orcpt(const DsnOrcpt& o) { return o.type + ";" + encode_xtext(o.address); }

Expected<DsnMailParams> dsn_mail_params(const std::vector<EsmtpParam>& params) {
    DsnMailParams out;
    for (const auto& p : params) {
        if (p.keyword == "RET") {
            auto r = parse_dsn_ret(p.value.value_or(""));
            if (!r) return r.error();
            out.ret = *r;
        } else if (p.keyword == "ENVID") {
            auto e = parse_dsn_envid(p.value.value_or(""));
            if (!e) return e.error();
            out.envid = std::move(*e);
        }
    }
    return out;
}

Expected<DsnRcptParams> dsn_rcpt_params(const std::vector<EsmtpParam>& params) {
    DsnRcptParams out;
    for (const auto& p : params) {
        if (p.keyword == "NOTIFY") {
            auto n = parse_dsn_notify(p.value.value_or(""));
            if (!n) return n.error();
            out.notify = *n;
        } else if (p.keyword == "ORCPT") {
            auto o = parse_dsn_orcpt(p.value.value_or(""));
            if (!o) return o.error();
            out.orcpt = std::move(*o);
        }
    }
    return out;
}

std::string format_dsn_mail(const DsnMailParams& p) {
    std::string out;
    if (p.ret) out += " RET=" + std::string(to_string(*p.ret));
    if (p.envid) out += " ENVID=" + encode_xtext(*p.envid);
    return out;
}

std::string format_dsn_rcpt(const DsnRcptParams& p) {
    std::string out;
    if (p.notify) out += " NOTIFY=" + format_dsn_notify(*p.notify);
    if (p.orcpt) out += " ORCPT=" + format_dsn_orcpt(*p.orcpt);
    return out;
}

}  // namespace asmtpd::proto
