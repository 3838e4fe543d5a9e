// settings.cpp - asmtpd.yaml -> Settings: which keys exist, their types, ranges and the checks
// that involve several keys. The generic reading and error collection live in yaml_reader.
//
// Never stop at the first problem (--check lists them all) and never let a bad value through
// half-applied: a value that fails its check leaves the default. Runs at start-up and on
// SIGHUP only; the file is read synchronously.
#include "core/smtp/settings.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/io/ares_channel.hpp"
#include "core/proto/cidr.hpp"
#include "core/smtp/settings_control.hpp"
#include "core/smtp/yaml_reader.hpp"

namespace asmtpd::smtp {
namespace {

using Node = YAML::Node;
using R = YamlReader;

constexpr std::uint64_t kMaxSeconds = 7 * 24 * 3600;            // keeps ms arithmetic far from overflow
constexpr std::uint64_t kMaxCount = 100'000'000;                 // sessions, recipients, errors
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 40;      // 1 TiB: no size limit needs more
constexpr std::size_t kMinLineLength = 512;                      // RFC 5321 §4.5.3.1.4
constexpr std::size_t kMinDataLine = 1000;                       // RFC 5321 §4.5.3.1.6

// RFC 1035 host name (letters, digits, '-', '_' tolerated as in the wild) or an address
// literal "[192.0.2.1]" / "[IPv6:2001:db8::1]". It goes into the greeting and Received.
std::string check_hostname(const std::string& h) {
    if (h.empty()) return {};   // the machine's name
    if (h.front() == '[') {
        if (h.back() != ']') return "an address literal must end with ']'";
        std::string inner = h.substr(1, h.size() - 2);
        if (inner.rfind("IPv6:", 0) == 0) inner = inner.substr(5);
        return proto::parse_ip(inner) ? std::string() : "not a valid address literal";
    }
    if (h.size() > 253) return "a host name is at most 253 characters";
    std::size_t label = 0;
    for (std::size_t i = 0; i <= h.size(); ++i) {
        if (i == h.size() || h[i] == '.') {
            if (label == 0) return "empty label in host name";
            if (label > 63) return "a host name label is at most 63 characters";
            label = 0;
            continue;
        }
        char c = h[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return fmt::format("invalid character '{}' in host name", c);
        ++label;
    }
    return {};
}

std::string check_cidr(const std::string& s) {
    return proto::parse_cidr(s) ? std::string() : "not an IP address or network (like 192.0.2.0/24 or 2001:db8::/32)";
}

std::string strip_brackets(std::string a) {
    if (a.size() >= 2 && a.front() == '[' && a.back() == ']') return a.substr(1, a.size() - 2);
    return a;
}

class SettingsParser {
public:
    SettingsParser(const std::string& file, std::vector<std::string>& errors) : r_(file, errors) {}

    void top(const Node& root, Settings& s, const std::vector<std::string>& plugin_keys) {
        YamlAt at{"", R::line_of(root, 1)};
        if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
            r_.error(at, "the file must be a mapping of settings (key: value), got " + R::describe(root));
            return;
        }
        std::vector<R::Field> fields{
            {"hostname", [&](const Node& v, const YamlAt& a) {
                 std::string h;
                 if (!r_.string(v, a, h, true)) return;
                 if (auto why = check_hostname(h); !why.empty()) return r_.error(a, why);
                 s.hostname = h;
             }},
            {"listen", [&](const Node& v, const YamlAt& a) { listen(v, a, s); }},
            {"spool_dir", [&](const Node& v, const YamlAt& a) { r_.string(v, a, s.spool_dir, false); }},
            {"workers", [&](const Node& v, const YamlAt& a) { r_.number(v, a, 1, 64, s.workers); }},
            {"log_level", [&](const Node& v, const YamlAt& a) {
                 r_.choice<io::Level>(v, a,
                                      {{"error", io::Level::Error}, {"warn", io::Level::Warn},
                                       {"notice", io::Level::Notice}, {"info", io::Level::Info},
                                       {"debug", io::Level::Debug}},
                                      s.log_level);
             }},
            {"log", [&](const Node& v, const YamlAt& a) { log(v, a, s.log); }},
            {"bare_lf", [&](const Node& v, const YamlAt& a) {
                 r_.choice<proto::BareLfPolicy>(
                     v, a, {{"reject", proto::BareLfPolicy::Reject}, {"normalize", proto::BareLfPolicy::Normalize}},
                     s.bare_lf);
             }},
            {"bare_lf_normalize_from", [&](const Node& v, const YamlAt& a) {
                 r_.string_list(v, a, s.bare_lf_normalize_from, check_cidr);
             }},
            {"greeting", [&](const Node& v, const YamlAt& a) { r_.string(v, a, s.greeting, true); }},
            {"limits", [&](const Node& v, const YamlAt& a) { limits(v, a, s.limits); }},
            {"timeouts", [&](const Node& v, const YamlAt& a) { timeouts(v, a, s.timeouts); }},
            {"tls", [&](const Node& v, const YamlAt& a) { tls(v, a, s.tls); }},
            {"trusted_proxies", [&](const Node& v, const YamlAt& a) {
                 r_.string_list(v, a, s.trusted_proxies, check_cidr);
             }},
            {"tls_before_auth", [&](const Node& v, const YamlAt& a) { r_.boolean(v, a, s.tls_before_auth); }},
            {"dns", [&](const Node& v, const YamlAt& a) { dns(v, a, s.dns); }},
            {"state", [&](const Node& v, const YamlAt& a) { state(v, a, s.state); }},
            {"metrics", [&](const Node& v, const YamlAt& a) { metrics(v, a, s.metrics); }},
            {"control", [&](const Node& v, const YamlAt& a) { read_control_settings(r_, v, a, s.control); }},
            {"user", [&](const Node& v, const YamlAt& a) {
                 if (r_.string(v, a, s.run_as.user, false)) s.run_as.user_line = a.line;
             }},
            {"group", [&](const Node& v, const YamlAt& a) {
                 if (r_.string(v, a, s.run_as.group, false)) s.run_as.group_line = a.line;
             }},
        };
        for (const auto& key : plugin_keys)
            fields.push_back({key, [&s, &key, this](const Node& v, const YamlAt& a) {
                                  s.plugin_sections[key] = r_.tree(v, a);
                              }});
        r_.mapping(root, at, fields);
        cross_checks(s);
    }

private:
    void listen(const Node& v, const YamlAt& at, Settings& s) {
        if (!v.IsDefined() || v.IsNull() || (v.IsSequence() && v.size() == 0)) {
            r_.error(at, "at least one listener is needed");
            return;
        }
        if (!v.IsSequence()) {
            r_.error(at, "expected a list of listeners (- address: ..., port: ...), got " + R::describe(v));
            return;
        }
        std::vector<ListenSpec> specs;
        listen_lines_.clear();
        std::size_t i = 0;
        for (const auto& item : v) {
            YamlAt here = R::element(at, i++, R::line_of(item, at.line));
            ListenSpec spec;
            bool ok = r_.mapping(item, here, {
                {"address", [&](const Node& n, const YamlAt& a) {
                     std::string addr;
                     if (!r_.string(n, a, addr, false)) return;
                     addr = strip_brackets(addr);
                     if (!proto::parse_ip(addr))
                         return r_.error(a, "expected an IP address (127.0.0.1, ::, 0.0.0.0), got " + R::describe(n));
                     spec.address = addr;
                 }},
                {"port", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, 65535, spec.port); }},
                {"mode", [&](const Node& n, const YamlAt& a) {
                     r_.choice<ListenMode>(n, a,
                                           {{"smtp", ListenMode::Smtp}, {"submission", ListenMode::Submission},
                                            {"smtps", ListenMode::Smtps}},
                                           spec.mode);
                 }},
                {"proxy_protocol", [&](const Node& n, const YamlAt& a) { r_.boolean(n, a, spec.proxy_protocol); }},
            });
            if (ok && item.IsNull()) r_.error(here, "empty listener (needs at least address or port)");
            if (!ok || item.IsNull()) continue;
            for (std::size_t j = 0; j < specs.size(); ++j) {
                auto a = proto::parse_ip(specs[j].address), b = proto::parse_ip(spec.address);
                if (specs[j].port == spec.port && a && b && *a == *b)
                    r_.error(here, fmt::format("{} port {} is already listened on (line {})", spec.address,
                                               spec.port, listen_lines_[j]));
            }
            specs.push_back(spec);
            listen_lines_.push_back(here.line);
        }
        if (!specs.empty()) s.listen = std::move(specs);
        else listen_lines_.clear();
    }

    void limits(const Node& v, const YamlAt& at, Limits& l) {
        r_.mapping(v, at, {
            {"max_connections", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, l.max_connections); }},
            {"max_connections_per_ip",
             [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, l.max_connections_per_ip); }},
            {"max_rcpts", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, l.max_rcpts); }},
            {"databytes", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxBytes, l.databytes); }},
            {"max_errors", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, l.max_errors); }},
            {"line_length", [&](const Node& n, const YamlAt& a) {
                 line_length_line_ = a.line;
                 r_.number(n, a, kMinLineLength, 1 << 20, l.line_length);
             }},
            {"data_line_length", [&](const Node& n, const YamlAt& a) {
                 std::size_t v2 = 0;
                 if (!r_.number(n, a, 0, 1 << 20, v2)) return;
                 if (v2 != 0 && v2 < kMinDataLine)
                     return r_.error(a, fmt::format("must be 0 (no limit) or at least {} (RFC 5321 text lines), got {}",
                                                    kMinDataLine, v2));
                 l.data_line_length = v2;
             }},
            {"pipeline_bytes", [&](const Node& n, const YamlAt& a) {
                 pipeline_line_ = a.line;
                 r_.number(n, a, 1, kMaxBytes, l.pipeline_bytes);
             }},
            {"memory_spool", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 0, kMaxBytes, l.memory_spool); }},
            {"max_children", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, l.max_children); }},
            {"auth_failures_per_ip", [&](const Node& n, const YamlAt& a) {
                 r_.number(n, a, 0, kMaxCount, l.auth_failures_per_ip);
             }},
            {"header_bytes", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 0, kMaxBytes, l.header_bytes); }},
            {"header_lines", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 0, kMaxCount, l.header_lines); }},
            {"data_min_rate", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 0, kMaxBytes, l.data_min_rate); }},
            {"min_free_space", [&](const Node& n, const YamlAt& a) {
                 std::string text;
                 if (!r_.string(n, a, text, false)) return;
                 if (!io::parse_space_threshold(text))
                     return r_.error(a, "expected bytes (e.g. 67108864, 64M, 2G), a percentage (e.g. 5%) or 0, got '" +
                                            text + "'");
                 l.min_free_space = text;
             }},
        });
    }

    // log: where lines go and how they look (io::LogConfig; docs/OPERATIONS.md "Logging").
    void log(const Node& v, const YamlAt& at, io::LogConfig& l) {
        r_.mapping(v, at, {
            {"target", [&](const Node& n, const YamlAt& a) {
                 r_.choice<io::LogTarget>(n, a,
                                          {{"stderr", io::LogTarget::Stderr}, {"syslog", io::LogTarget::Syslog},
                                           {"journald", io::LogTarget::Journald}},
                                          l.target);
             }},
            {"format", [&](const Node& n, const YamlAt& a) {
                 r_.choice<io::LogFormat>(n, a, {{"text", io::LogFormat::Text}, {"json", io::LogFormat::Json}},
                                          l.format);
             }},
            {"priority_prefix", [&](const Node& n, const YamlAt& a) {
                 r_.choice<io::PriorityPrefix>(n, a,
                                               {{"auto", io::PriorityPrefix::Auto},
                                                {"always", io::PriorityPrefix::Always},
                                                {"never", io::PriorityPrefix::Never}},
                                               l.prefix);
             }},
            {"facility", [&](const Node& n, const YamlAt& a) {
                 std::string name;
                 if (!r_.string(n, a, name, false)) return;
                 auto f = io::facility_from_name(name);
                 if (!f) return r_.error(a, "expected mail, daemon, user, news or local0 ... local7, got '" + name + "'");
                 l.facility = *f;
             }},
            {"syslog_socket", [&](const Node& n, const YamlAt& a) {
                 std::string path;
                 if (!r_.string(n, a, path, false)) return;
                 if (path.front() != '/') return r_.error(a, "expected an absolute path (like /dev/log), got '" + path + "'");
                 if (path.size() >= 108) return r_.error(a, "a Unix socket path is at most 107 bytes");
                 l.syslog_socket = path;
             }},
            {"identifier", [&](const Node& n, const YamlAt& a) {
                 std::string id;
                 if (!r_.string(n, a, id, false)) return;
                 if (id.find_first_of(" :[]\t\r\n") != std::string::npos)
                     return r_.error(a, "no spaces, ':' or brackets in a syslog identifier, got '" + id + "'");
                 l.identifier = id;
             }},
        });
    }

    void dns(const Node& v, const YamlAt& at, DnsSettings& d) {
        r_.mapping(v, at, {
            {"servers", [&](const Node& n, const YamlAt& a) {
                 r_.string_list(n, a, d.servers, [](const std::string& s) {
                     return io::dns_server_item(s) ? std::string() : "not IP or IP:port (like 127.0.0.1:5353 or [::1]:53)";
                 });
             }},
            {"timeout", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, 300, d.timeout); }},
            {"attempts", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, 10, d.attempts); }},
            {"cache_entries", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 0, kMaxCount, d.cache_entries); }},
            {"max_in_flight", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, kMaxCount, d.max_in_flight); }},
        });
    }

    void state(const Node& v, const YamlAt& at, StateSettings& st) {
        r_.mapping(v, at, {
            {"backend", [&](const Node& n, const YamlAt& a) {
                 r_.choice<StateSettings::Backend>(
                     n, a, {{"embedded", StateSettings::Backend::Embedded}, {"redis", StateSettings::Backend::Redis}},
                     st.backend);
             }},
            {"path", [&](const Node& n, const YamlAt& a) { r_.string(n, a, st.path, true); }},
            {"address", [&](const Node& n, const YamlAt& a) {
                 std::string text;
                 if (!r_.string(n, a, text, false)) return;
                 if (!parse_host_port(text, st.host, st.port))
                     r_.error(a, "expected IP:port (like 127.0.0.1:6379 or [::1]:6379), got '" + text + "'");
             }},
            {"prefix", [&](const Node& n, const YamlAt& a) { r_.string(n, a, st.prefix, true); }},
            {"timeout", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, 300, st.timeout); }},
            {"map_size", [&](const Node& n, const YamlAt& a) { r_.number(n, a, 1, 1 << 20, st.map_size); }},
        });
    }

    void metrics(const Node& v, const YamlAt& at, MetricsSettings& m) {
        MetricsSettings got;
        YamlAt listen_at = at;
        r_.mapping(v, at, {
            {"listen", [&](const Node& n, const YamlAt& a) {
                 std::string text;
                 listen_at = a;
                 if (!r_.string(n, a, text, false)) return;
                 if (!parse_host_port(text, got.address, got.port))
                     r_.error(a, "expected IP:port (like 127.0.0.1:9425 or [::1]:9425), got '" + text + "'");
                 got.line = a.line;
             }},
            {"allow_remote", [&](const Node& n, const YamlAt& a) { r_.boolean(n, a, got.allow_remote); }},
        });
        if (!got.enabled()) return;
        const auto ip = proto::parse_ip(got.address);
        const bool loopback = ip && (ip->is_v4() ? ip->bytes[12] == 127 : *ip == *proto::parse_ip("::1"));
        if (!loopback && !got.allow_remote)
            return r_.error(listen_at, "'" + got.address + "' is not a loopback address; the metrics page has no "
                                       "authentication: set allow_remote: true to serve it there anyway");
        m = got;
    }

    // "IP:port" or "[IPv6]:port"; an IP literal only (the store connects without a DNS lookup).
    static bool parse_host_port(const std::string& text, std::string& host, unsigned& port) {
        std::string h, p;
        if (!text.empty() && text.front() == '[') {
            auto close = text.find("]:");
            if (close == std::string::npos) return false;
            h = text.substr(1, close - 1);
            p = text.substr(close + 2);
        } else {
            auto colon = text.rfind(':');
            if (colon == std::string::npos || text.find(':') != colon) return false;
            h = text.substr(0, colon);
            p = text.substr(colon + 1);
        }
        if (!proto::parse_ip(h) || p.empty() || p.size() > 5 ||
            p.find_first_not_of("0123456789") != std::string::npos)
            return false;
        const unsigned long n = std::stoul(p);
        if (n == 0 || n > 65535) return false;
        host = h;
        port = static_cast<unsigned>(n);
        return true;
    }

    void timeouts(const Node& v, const YamlAt& at, Timeouts& t) {
        auto secs = [&](unsigned& out, std::uint64_t min) {
            return [&out, min, this](const Node& n, const YamlAt& a) { r_.number(n, a, min, kMaxSeconds, out); };
        };
        r_.mapping(v, at, {
            {"connect", secs(t.connect, 1)},
            {"command", secs(t.command, 1)},
            {"data", secs(t.data, 1)},
            {"data_total", secs(t.data_total, 1)},
            {"data_grace", secs(t.data_grace, 0)},
            {"plugin", secs(t.plugin, 1)},
            {"shutdown", secs(t.shutdown, 0)},
            {"tls_handshake", secs(t.tls_handshake, 1)},
            {"proxy", secs(t.proxy, 1)},
        });
    }

    void tls(const Node& v, const YamlAt& at, TlsSettings& t) {
        const std::size_t before = r_.error_count();
        r_.mapping(v, at, {
            {"cert", [&](const Node& n, const YamlAt& a) { r_.string(n, a, t.cert, false), t.cert_at = r_.where(a); }},
            {"key", [&](const Node& n, const YamlAt& a) { r_.string(n, a, t.key, false), t.key_at = r_.where(a); }},
            {"min_version", [&](const Node& n, const YamlAt& a) {
                 t.min_version_at = r_.where(a);
                 std::string chosen;
                 if (r_.choice<std::string>(n, a,
                                            {{"TLSv1", "TLSv1"}, {"TLSv1.1", "TLSv1.1"}, {"TLSv1.2", "TLSv1.2"},
                                             {"TLSv1.3", "TLSv1.3"}},
                                            chosen))
                     t.min_version = chosen;
             }},
            {"ciphers", [&](const Node& n, const YamlAt& a) { r_.string(n, a, t.ciphers, true), t.ciphers_at = r_.where(a); }},
        });
        // Only when both were readable: "cert: ''" is already reported as empty.
        if (r_.error_count() == before && t.cert.empty() != t.key.empty())
            r_.error({at.path, at.line}, "cert and key must be given together");
    }

    // Checks that involve more than one key, reported at the line of the key that must change.
    void cross_checks(const Settings& s) {
        if (s.limits.pipeline_bytes < s.limits.line_length) {
            int line = pipeline_line_ ? pipeline_line_ : line_length_line_;
            r_.error({"limits.pipeline_bytes", line},
                     fmt::format("must be at least limits.line_length ({}), got {}", s.limits.line_length,
                                 s.limits.pipeline_bytes));
        }
        for (std::size_t i = 0; i < s.listen.size() && i < listen_lines_.size(); ++i) {
            const auto a = proto::parse_ip(s.listen[i].address), b = proto::parse_ip(s.metrics.address);
            if (s.metrics.enabled() && a && b && *a == *b && s.listen[i].port == s.metrics.port)
                r_.error({"metrics.listen", s.metrics.line}, fmt::format("{}:{} is already an SMTP listener (line {})",
                                                                         s.metrics.address, s.metrics.port, listen_lines_[i]));
            if (s.listen[i].mode == ListenMode::Smtps && !s.tls.enabled())
                r_.error({fmt::format("listen[{}].mode", i), listen_lines_[i]},
                         "smtps needs tls.cert and tls.key");
        }
    }

public:
    const std::set<std::string>& given() const { return r_.given(); }

private:
    YamlReader r_;
    std::vector<int> listen_lines_;   // line of each parsed listener, for later messages
    int line_length_line_ = 0;
    int pipeline_line_ = 0;
};

}  // namespace

SettingsResult parse_settings(std::string_view yaml_text, const std::string& file,
                              const std::vector<std::string>& plugin_keys) {
    SettingsResult r;
    Node root;
    try {
        // Parsing is the only place yaml-cpp may throw (syntax errors, excessive nesting).
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
        r.errors.push_back(fmt::format("{}:{}: syntax error: {}", file, line, e.msg));
        root = Node();
    } catch (const std::exception& e) {
        r.errors.push_back(fmt::format("{}:1: cannot parse: {}", file, e.what()));
        root = Node();
    }
    if (r.errors.empty()) {
        SettingsParser p(file, r.errors);
        p.top(root, r.settings, plugin_keys);
        r.given = p.given();
    }
    if (r.settings.hostname.empty()) r.settings.hostname = machine_hostname();
    return r;
}

SettingsResult load_settings(const std::string& config_dir, const std::vector<std::string>& plugin_keys) {
    const std::string file = config_dir + "/asmtpd.yaml";
    auto fail = [&](const std::string& why) {
        SettingsResult r;
        r.settings.hostname = machine_hostname();
        r.errors.push_back(fmt::format("{}:0: cannot read: {}", file, why));
        return r;
    };
    std::error_code ec;
    auto st = std::filesystem::status(file, ec);
    if (st.type() == std::filesystem::file_type::not_found) {
        // No file: every default (documented: a missing asmtpd.yaml is not an error).
        SettingsResult r;
        r.settings.hostname = machine_hostname();
        return r;
    }
    if (ec) return fail(ec.message());
    if (std::filesystem::is_directory(st)) return fail("is a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return fail(std::strerror(errno));
    return parse_settings(ss.str(), file, plugin_keys);
}

std::string machine_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    std::string h(buf);
    // A host name that would fail our own check (odd container names) is not used in replies.
    return check_hostname(h).empty() ? h : "localhost";
}

}  // namespace asmtpd::smtp
