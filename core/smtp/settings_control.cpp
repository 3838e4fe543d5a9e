// settings_control.cpp - the control: section of asmtpd.yaml (see settings_control.hpp).
#include "core/smtp/settings_control.hpp"

#include <sys/un.h>

#include <fmt/format.h>

namespace asmtpd::smtp {

namespace {

// "0660", "660", "0o660": octal permission bits (YAML would read 0660 as a decimal number).
bool parse_mode(std::string text, unsigned& out) {
    if (text.starts_with("0o") || text.starts_with("0O")) text = text.substr(2);
    if (text.empty() || text.size() > 4) return false;
    unsigned v = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return false;
        v = v * 8 + static_cast<unsigned>(c - '0');
    }
    if (v > 0777) return false;
    out = v;
    return true;
}

}  // namespace

void read_control_settings(YamlReader& r, const YAML::Node& v, const YamlAt& at, ControlSettings& out) {
    ControlSettings got;
    const std::size_t before = r.error_count();
    r.mapping(v, at, {
        {"socket", [&](const YAML::Node& n, const YamlAt& a) {
             got.line = a.line;
             if (!r.string(n, a, got.socket, true) || got.socket.empty()) return;
             if (got.socket.front() != '/') return r.error(a, "expected an absolute path, got '" + got.socket + "'");
             if (got.socket.size() >= sizeof(sockaddr_un{}.sun_path))
                 r.error(a, fmt::format("longer than a Unix socket path may be ({} bytes)", sizeof(sockaddr_un{}.sun_path) - 1));
         }},
        {"mode", [&](const YAML::Node& n, const YamlAt& a) {
             std::string text;
             if (!r.scalar_text(n, a, text)) return;
             if (!parse_mode(text, got.mode))
                 return r.error(a, "expected octal permission bits like 0660, got '" + text + "'");
             if (got.mode & 07)
                 r.error(a, fmt::format("{:04o} lets every local user reload and stop the daemon; use 0660 or 0600", got.mode));
         }},
        {"group", [&](const YAML::Node& n, const YamlAt& a) { r.string(n, a, got.group, false); }},
    });
    if (r.error_count() == before) out = got;
}

}  // namespace asmtpd::smtp
