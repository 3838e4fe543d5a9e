// qpsmtpd_control.cpp - see qpsmtpd_control.hpp.
#include "core/smtp/qpsmtpd_control.hpp"

#include <charconv>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "core/proto/config_path.hpp"
#include "core/smtp/config_paths.hpp"

namespace asmtpd::smtp {

namespace {

std::optional<std::uint64_t> number(const std::string& v) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return n;
}

struct Mapping {
    const char* file;
    const char* key;
    // Applies the value; returns an error text ("expected ...") or "".
    std::function<std::string(const std::string& value)> apply;
};

}  // namespace

void apply_qpsmtpd_control_files(const hooks::FlatConfig& config, const std::set<std::string>& given,
                                 const std::string& hostname, Settings& s, std::vector<std::string>& errors,
                                 std::vector<std::string>& notices) {
    auto seconds = [](unsigned& out) {
        return [&out](const std::string& v) -> std::string {
            auto n = number(v);
            if (!n || *n == 0 || *n > 86400) return "expected seconds (1..86400)";
            out = static_cast<unsigned>(*n);
            return "";
        };
    };
    const Mapping table[] = {
        {"databytes", "limits.databytes",
         [&](const std::string& v) -> std::string {
             auto n = number(v);
             if (!n) return "expected a number of bytes (0 = no limit)";
             s.limits.databytes = *n;
             return "";
         }},
        {"smtpgreeting", "greeting",
         [&](const std::string& v) -> std::string {
             std::string text = v;
             const auto space = text.find(' ');
             if (text.substr(0, space) == hostname) text = space == std::string::npos ? "" : text.substr(space + 1);
             s.greeting = text;
             return "";
         }},
        {"timeout", "timeouts.command", seconds(s.timeouts.command)},
        {"timeoutsmtpd", "timeouts.command", seconds(s.timeouts.command)},
        {"loglevel", "log_level",
         [&](const std::string& v) -> std::string {
             auto n = number(v);
             if (!n || *n > 7) return "expected a syslog level 0..7";
             s.log_level = *n <= 3 ? io::Level::Error
                         : *n == 4 ? io::Level::Warn
                         : *n == 5 ? io::Level::Notice
                         : *n == 6 ? io::Level::Info
                                   : io::Level::Debug;
             return "";
         }},
        {"spool_dir", "spool_dir",
         [&](const std::string& v) -> std::string {
             s.spool_dir = proto::resolve_config_path(config_base(config.dir()), v);   // as asmtpd.yaml's
             return "";
         }},
        {"size_threshold", "limits.memory_spool",
         [&](const std::string& v) -> std::string {
             auto n = number(v);
             if (!n || *n > (1u << 30)) return "expected a number of bytes (up to 1 GiB)";
             s.limits.memory_spool = static_cast<std::size_t>(*n);
             return "";
         }},
        {"tls_before_auth", "tls_before_auth",
         [&](const std::string& v) -> std::string {
             if (v != "0" && v != "1") return "expected 0 or 1";
             s.tls_before_auth = v == "1";
             return "";
         }},
        {"tls_ciphers", "tls.ciphers",
         [&](const std::string& v) -> std::string {
             s.tls.ciphers = v;
             return "";
         }},
    };
    for (const auto& m : table) {
        if (!config.exists(m.file)) continue;
        const std::string path = config.path(m.file);
        auto value = config.first(m.file);
        if (!value) continue;   // only comments: the default stays
        if (given.count(m.key)) {
            notices.push_back(fmt::format("{}: note: ignored, asmtpd.yaml sets {}", path, m.key));
            continue;
        }
        if (auto why = m.apply(*value); !why.empty()) {
            errors.push_back(fmt::format("{}:1: {}: {}, got '{}'", path, m.file, why, *value));
            continue;
        }
        notices.push_back(fmt::format("{}: note: read as asmtpd.yaml {}: {}", path, m.key, *value));
    }
    if (config.exists("tls_protocols"))
        notices.push_back(fmt::format("{}: note: not read; set tls.min_version in asmtpd.yaml",
                                      config.path("tls_protocols")));
}

}  // namespace asmtpd::smtp
