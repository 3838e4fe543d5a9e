// dovecot_auth.cpp - Dovecot auth protocol lines; see dovecot_auth.hpp.
//
// Must never: read outside the given view, accept an id that does not fit 32 bits or is 0, or
// let a TAB, CR or LF from a value split a request line.
#include "core/proto/dovecot_auth.hpp"

#include <charconv>

#include "core/proto/sasl.hpp"

namespace asmtpd::proto {

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (true) {
        const auto tab = line.find('\t', pos);
        if (tab == std::string_view::npos) {
            out.push_back(line.substr(pos));
            return out;
        }
        out.push_back(line.substr(pos, tab - pos));
        pos = tab + 1;
    }
}

template <class N>
std::optional<N> number(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    N v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// OK / FAIL / CONT: "VERB\t<id>\t...".
bool read_id(const std::vector<std::string_view>& f, DovecotAuthLine& out, std::string& error) {
    auto id = f.size() >= 2 ? number<std::uint32_t>(f[1]) : std::nullopt;
    if (!id || *id == 0) {
        error = "bad request id";
        return false;
    }
    out.id = *id;
    return true;
}

void read_params(const std::vector<std::string_view>& f, std::size_t from, DovecotAuthLine& out) {
    for (std::size_t i = from; i < f.size(); ++i) {
        if (f[i].empty()) continue;
        const auto eq = f[i].find('=');
        std::string key(f[i].substr(0, eq));
        std::string value = eq == std::string_view::npos ? std::string() : dovecot_tab_unescape(f[i].substr(eq + 1));
        if (key == "user") out.user = value;
        if (key == "reason") out.reason = value;
        if (key == "temp" || (key == "code" && value == "temp_fail")) out.temporary = true;
        out.params.emplace_back(std::move(key), std::move(value));
    }
}

}  // namespace

const std::string* DovecotAuthLine::param(std::string_view key) const {
    for (const auto& [k, v] : params)
        if (k == key) return &v;
    return nullptr;
}

std::optional<DovecotAuthLine> parse_dovecot_auth_line(std::string_view line, std::string& error) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kDovecotAuthMaxLine) {
        error = "line too long";
        return std::nullopt;
    }
    const auto f = split_tabs(line);
    const std::string_view verb = f[0];
    DovecotAuthLine out;
    if (verb == "VERSION") {
        auto major = f.size() >= 3 ? number<unsigned>(f[1]) : std::nullopt;
        auto minor = f.size() >= 3 ? number<unsigned>(f[2]) : std::nullopt;
        if (!major || !minor) {
            error = "bad VERSION line";
            return std::nullopt;
        }
        out.kind = DovecotAuthKind::Version;
        out.major = *major;
        out.minor = *minor;
    } else if (verb == "MECH") {
        if (f.size() < 2 || f[1].empty()) {
            error = "MECH without a name";
            return std::nullopt;
        }
        out.kind = DovecotAuthKind::Mech;
        out.mech = std::string(f[1]);
        for (std::size_t i = 2; i < f.size(); ++i) out.flags.emplace_back(f[i]);
    } else if (verb == "SPID") {
        out.kind = DovecotAuthKind::Spid;
    } else if (verb == "CUID") {
        out.kind = DovecotAuthKind::Cuid;
    } else if (verb == "COOKIE") {
        out.kind = DovecotAuthKind::Cookie;
    } else if (verb == "DONE") {
        out.kind = DovecotAuthKind::Done;
    } else if (verb == "OK" || verb == "FAIL") {
        if (!read_id(f, out, error)) return std::nullopt;
        out.kind = verb == "OK" ? DovecotAuthKind::Ok : DovecotAuthKind::Fail;
        read_params(f, 2, out);
    } else if (verb == "CONT") {
        if (!read_id(f, out, error)) return std::nullopt;
        out.kind = DovecotAuthKind::Cont;
        if (f.size() >= 3) out.challenge = std::string(f[2]);
    }
    return out;
}

std::string dovecot_tab_escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\001': out += "\0011"; break;
            case '\t': out += "\001t"; break;
            case '\n': out += "\001n"; break;
            case '\r': out += "\001r"; break;
            default: out += c;
        }
    }
    return out;
}

std::string dovecot_tab_unescape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\001' && i + 1 < value.size()) {
            const char n = value[i + 1];
            const char plain = n == '1' ? '\001' : n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : '\0';
            if (plain != '\0') {
                out += plain;
                ++i;
                continue;
            }
        }
        out += value[i];
    }
    return out;
}

std::string dovecot_auth_handshake(std::uint64_t pid) {
    return "VERSION\t" + std::to_string(kDovecotAuthMajor) + "\t1\nCPID\t" + std::to_string(pid) + "\n";
}

std::string dovecot_auth_request_line(const DovecotAuthRequest& r) {
    std::string out = "AUTH\t" + std::to_string(r.id) + "\t" + dovecot_tab_escape(r.mechanism) +
                      "\tservice=" + dovecot_tab_escape(r.service) + "\tnologin";
    if (!r.local_ip.empty()) out += "\tlip=" + dovecot_tab_escape(r.local_ip);
    if (!r.remote_ip.empty()) out += "\trip=" + dovecot_tab_escape(r.remote_ip);
    if (r.local_port != 0) out += "\tlport=" + std::to_string(r.local_port);
    if (r.remote_port != 0) out += "\trport=" + std::to_string(r.remote_port);
    if (r.secured) out += "\tsecured";
    out += "\tresp=" + base64_encode(r.initial_response) + "\n";
    return out;
}

std::string dovecot_plain_response(std::string_view user, std::string_view password) {
    std::string out(1, '\0');
    out += user;
    out += '\0';
    out += password;
    return out;
}

}  // namespace asmtpd::proto
