// next_hop.cpp - parsing of "host[:port] key value ..." for the SMTP/LMTP queue plugins.
//
// Must never: accept a value that would make a delivery wait forever (zero timeouts, zero
// connections) or a host name DNS could never answer for. Pure: no I/O, no logging.
#include "core/client/next_hop.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "core/proto/plugin_args.hpp"

namespace asmtpd::client {

namespace {

bool ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool ipv6(const std::string& s) {
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

constexpr std::size_t kMaxConnections = 10000;

}  // namespace

bool valid_host_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return false;
    // An all-numeric last label is a mistyped IPv4 address ("256.0.0.1", "1.2.3"), never a
    // name (RFC 3696 §2: no top-level domain is all-numeric).
    const std::string_view last = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
    if (std::all_of(last.begin(), last.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (label == 0 || label > 63 || name[i - 1] == '-' || name[i - label] == '-') return false;
            label = 0;
            continue;
        }
        const char c = name[i];
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        ++label;
    }
    return true;
}

bool NextHop::needs_dns() const {
    return !unix_socket && !mx && host != "localhost" && !ipv4(host) && !ipv6(host);
}

std::string NextHop::describe() const {
    if (unix_socket) return "unix:" + path;
    if (mx) return "mx:" + std::to_string(port);
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<NextHop> parse_next_hop(std::string_view text, std::uint16_t default_port, std::string& error) {
    NextHop hop;
    hop.port = default_port;
    if (text.empty()) {
        error = "missing next hop (host[:port] or /path/to/socket)";
        return std::nullopt;
    }
    if (text.front() == '/') {
        if (text.size() > 107 || text.find('\0') != std::string_view::npos) {
            error = "socket path longer than 107 octets";
            return std::nullopt;
        }
        hop.unix_socket = true;
        hop.path = std::string(text);
        return hop;
    }
    std::string_view host = text, port;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            error = "unbalanced [ in next hop '" + std::string(text) + "'";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                error = "junk after ] in next hop '" + std::string(text) + "'";
                return std::nullopt;
            }
            port = rest.substr(1);
            if (port.empty()) {
                error = "empty port in next hop '" + std::string(text) + "'";
                return std::nullopt;
            }
        }
        if (!ipv6(std::string(host))) {
            error = "'" + std::string(host) + "' in brackets is not an IPv6 address";
            return std::nullopt;
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        auto colon = text.find(':');
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.empty()) {
            error = "empty port in next hop '" + std::string(text) + "'";
            return std::nullopt;
        }
    }
    hop.host = std::string(host);
    if (!port.empty()) {
        auto n = proto::parse_count(port);
        if (!n || *n == 0 || *n > 65535) {
            error = "bad port '" + std::string(port) + "' (1..65535)";
            return std::nullopt;
        }
        hop.port = static_cast<std::uint16_t>(*n);
    }
    if (hop.host != "localhost" && !ipv4(hop.host) && !ipv6(hop.host) && !valid_host_name(hop.host)) {
        error = "next hop '" + hop.host + "' is neither an IP address nor a host name";
        return std::nullopt;
    }
    return hop;
}

std::optional<std::string> parse_client_config(const std::vector<std::string>& args, NextHopProtocol protocol,
                                               ClientConfig& out) {
    out = ClientConfig{};
    out.protocol = protocol;
    if (args.empty()) return std::string("missing next hop (host[:port] or /path/to/socket)");
    std::string error;
    if (args[0] == "mx") {
        if (protocol != NextHopProtocol::Smtp) return std::string("\"mx\" is for queue/smtp_forward only");
        out.hop.mx = true;
    } else {
        auto hop = parse_next_hop(args[0], protocol == NextHopProtocol::Lmtp ? 24 : 25, error);
        if (!hop) return error;
        out.hop = *hop;
    }

    proto::ArgPairs pairs;
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (auto err = pairs.parse(rest, {"max_connections", "timeout", "connect_timeout", "data_timeout", "idle_timeout",
                                      "total_timeout", "dns_timeout", "port", "tls", "tls_verify", "ca_file",
                                      "tls_name", "auth_user", "auth_pass_file", "auth_pass", "auth_plaintext"}))
        return err;
    SecurityArgs sec{pairs.get("tls"),       pairs.get("tls_verify"),     pairs.get("ca_file"),
                     pairs.get("tls_name"),  pairs.get("auth_user"),      pairs.get("auth_pass_file"),
                     pairs.get("auth_pass"), pairs.get("auth_plaintext")};
    if (auto err = parse_client_security(sec, protocol, out.hop, out.security)) return err;
    if (auto v = pairs.get("port")) {
        if (!out.hop.mx) return std::string("port is for \"mx\" only (write host:port)");
        auto n = proto::parse_count(*v);
        if (!n || *n == 0 || *n > 65535) return "bad port '" + *v + "' (1..65535)";
        out.hop.port = static_cast<std::uint16_t>(*n);
    }
    ClientLimits& l = out.limits;
    if (auto v = pairs.get("max_connections")) {
        auto n = proto::parse_count(*v);
        if (!n || *n == 0 || *n > kMaxConnections)
            return "max_connections must be 1.." + std::to_string(kMaxConnections) + ", not '" + *v + "'";
        l.max_connections = static_cast<std::size_t>(*n);
    }
    struct Timeout {
        const char* key;
        std::uint64_t* ms;
    };
    for (Timeout t : {Timeout{"timeout", &l.command_ms}, Timeout{"connect_timeout", &l.connect_ms},
                      Timeout{"data_timeout", &l.data_end_ms}, Timeout{"idle_timeout", &l.idle_ms},
                      Timeout{"total_timeout", &l.total_ms}, Timeout{"dns_timeout", &out.dns_ms}}) {
        auto v = pairs.get(t.key);
        if (!v) continue;
        auto ms = proto::parse_seconds_ms(*v);
        if (!ms || *ms == 0) return std::string(t.key) + " must be a positive number of seconds, not '" + *v + "'";
        *t.ms = *ms;
    }
    if (l.total_ms < l.connect_ms + l.command_ms)
        return "total_timeout must be at least connect_timeout + timeout";
    // DNS must leave the delivery time: its budget is part of total_timeout.
    if (!pairs.get("dns_timeout")) out.dns_ms = std::min(out.dns_ms, l.total_ms / 2);
    else if (out.dns_ms >= l.total_ms) return std::string("dns_timeout must be below total_timeout");
    return std::nullopt;
}

}  // namespace asmtpd::client
