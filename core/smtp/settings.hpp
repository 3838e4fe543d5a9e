// settings.hpp - asmtpd.yaml as typed values.
//
// Every key is optional and has a default; unknown keys and wrong types are errors that name
// the key and its file:line, collected all at once so --check can print every problem.
// bare_lf: normalize with an empty bare_lf_normalize_from means every client gets normalize.
// tls and trusted_proxies are read and validated now; the TLS listener / STARTTLS and PROXY
// protocol work uses them later (until then they change nothing).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "core/io/free_space.hpp"
#include "core/io/log.hpp"
#include "core/proto/data_decoder.hpp"
#include "core/proto/setting_tree.hpp"

namespace asmtpd::smtp {

enum class ListenMode { Smtp, Submission, Smtps };

struct ListenSpec {
    std::string address = "127.0.0.1";
    std::uint16_t port = 2525;
    ListenMode mode = ListenMode::Smtp;
    bool proxy_protocol = false;
};

struct Limits {
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_ip = 50;
    std::size_t max_rcpts = 100;           // 452 4.5.3 past it
    std::uint64_t databytes = 26214400;    // SIZE advertised; 552 5.3.4 past it
    std::size_t max_errors = 10;           // then 421 and close
    std::size_t line_length = 512;         // command line incl. CRLF (RFC 5321 §4.5.3.1.4)
    std::size_t data_line_length = 0;      // DATA line incl. CRLF; 0 = unlimited
    std::size_t pipeline_bytes = 65536;    // unprocessed input kept before reading pauses
    std::size_t memory_spool = 65536;      // message bytes kept in memory before spooling to disk
    std::size_t max_children = 128;        // external programs (spp, qmail-queue ...) running at once
                                           // per worker; more wait in FIFO order
    std::size_t auth_failures_per_ip = 10; // failed AUTH per client IP per minute; then 421 and close
    std::uint64_t header_bytes = 102400;   // header block octets; 552 5.3.4 after the dot; 0 = no limit
    std::size_t header_lines = 1000;       // header block lines (folded ones count); 0 = no limit
    std::string min_free_space = "64M";    // bytes, K/M/G/T, or N% on the spool and maildirs; "0" = off
    std::size_t data_min_rate = 500;       // DATA octets per second averaged since 354, after
                                           // timeouts.data_grace; 0 = off
};

struct Timeouts {  // seconds
    unsigned connect = 300;   // greeting to first command
    unsigned command = 300;
    unsigned data = 600;       // longest silence inside DATA
    unsigned data_total = 3600;   // the whole DATA phase, 354 to the final dot (25 MiB at ~7 KiB/s)
    unsigned data_grace = 30;     // after 354, before limits.data_min_rate is enforced
    unsigned plugin = 30;
    unsigned shutdown = 30;   // SIGTERM: how long sessions may finish
    unsigned tls_handshake = 30;  // STARTTLS / smtps handshake
    unsigned proxy = 10;      // PROXY protocol header after connect
};

struct TlsSettings {
    std::string cert;                      // PEM certificate chain file; set together with key
    std::string key;                       // PEM private key file
    std::string min_version = "TLSv1.2";   // TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3
    std::string ciphers;                   // OpenSSL cipher list; empty = library default
    // Where each was written ("conf/asmtpd.yaml:7: tls.cert", "conf/plugins:3: tls"), so a
    // certificate that does not load is reported at its line.
    std::string cert_at, key_at, min_version_at, ciphers_at;
    bool enabled() const { return !cert.empty() && !key.empty(); }
    bool operator==(const TlsSettings&) const = default;
};

// dns: the resolver of every worker loop (core/io/resolver.hpp). Read at start-up only.
struct DnsSettings {
    std::vector<std::string> servers;      // "IP" or "IP:port" / "[IPv6]:port"; empty: /etc/resolv.conf
    unsigned timeout = 5;                  // seconds per attempt (c-ares doubles it per round)
    unsigned attempts = 2;                 // rounds over the server list
    std::size_t cache_entries = 10000;     // answers cached per worker; 0 disables the cache
    std::size_t max_in_flight = 1000;      // questions on the wire per worker; more wait in order
    bool operator==(const DnsSettings&) const = default;
};

// state: the store plugins keep shared state in (core/io/state_store.hpp). Read at start-up only.
struct StateSettings {
    enum class Backend { Embedded, Redis };
    Backend backend = Backend::Embedded;
    std::string path;                      // embedded: LMDB file; empty = <spool_dir>/state.mdb
    std::string host = "127.0.0.1";        // redis: `address: IP:port` ([IPv6]:port)
    unsigned port = 6379;
    std::string prefix = "asmtpd:";        // redis: in front of every key
    unsigned timeout = 1;                  // seconds any batch of operations may take
    std::uint64_t map_size = 256;          // embedded: MiB the file may grow to
    bool operator==(const StateSettings&) const = default;
};

// metrics: the Prometheus endpoint (core/smtp/metrics_server.hpp). Off unless `listen` is
// given; a non-loopback address only with allow_remote: true (the page has no authentication).
// Read at start-up only.
struct MetricsSettings {
    std::string address;                   // empty: no metrics endpoint
    unsigned port = 0;
    bool allow_remote = false;
    int line = 0;                          // of metrics.listen, for later messages
    bool enabled() const { return !address.empty(); }
    bool operator==(const MetricsSettings& o) const {
        return address == o.address && port == o.port && allow_remote == o.allow_remote;
    }
};

// control: the control socket asmtpd-ctl talks to (core/smtp/control_server.hpp). Off unless
// `socket` is given; mode may not grant anything to others (it reloads and stops the daemon).
// Read at start-up only.
struct ControlSettings {
    std::string socket;                    // absolute path; empty: no control socket
    unsigned mode = 0660;
    std::string group;                     // name or gid; empty: the group the daemon runs as
    int line = 0;                          // of control.socket, for later messages
    bool enabled() const { return !socket.empty(); }
    bool operator==(const ControlSettings& o) const {
        return socket == o.socket && mode == o.mode && group == o.group;
    }
};

// user / group: the account the daemon runs as once its listeners are bound and its TLS key read
// (core/smtp/privileges.hpp decides what they mean for the uid it was started as). The lines are
// kept for the start-up errors, which are reported against asmtpd.yaml like the others.
struct RunAsSettings {
    std::string user;                      // name or uid; empty: not set
    std::string group;                     // name or gid; empty: the user's primary group
    int user_line = 0;                     // 0: key absent
    int group_line = 0;
    bool operator==(const RunAsSettings& o) const { return user == o.user && group == o.group; }
};

struct Settings {
    std::string hostname;                  // empty in the file -> the machine's name
    std::vector<ListenSpec> listen{ListenSpec{}};
    std::string spool_dir = "./var/spool";
    unsigned workers = 1;
    io::Level log_level = io::Level::Info;
    io::LogConfig log;                     // log: target, format ... (its level is log_level)
    io::LogConfig log_config() const {
        io::LogConfig c = log;
        c.level = log_level;
        return c;
    }
    proto::BareLfPolicy bare_lf = proto::BareLfPolicy::Reject;
    std::vector<std::string> bare_lf_normalize_from;   // CIDRs trusted with bare_lf: normalize
    std::string greeting;                  // text after "220 <hostname> "; empty = default
    Limits limits;
    Timeouts timeouts;
    TlsSettings tls;
    std::vector<std::string> trusted_proxies;   // CIDRs allowed to send a PROXY header
    bool tls_before_auth = true;           // offer AUTH only inside TLS (qpsmtpd's tls_before_auth)
    // The sections plugins own (CatalogEntry::settings_key, e.g. spp's spp_programs), by key,
    // as value trees the plugin validates in its init().
    std::map<std::string, proto::SettingNode> plugin_sections;
    DnsSettings dns;
    StateSettings state;
    MetricsSettings metrics;
    ControlSettings control;
    RunAsSettings run_as;
};

struct SettingsResult {
    Settings settings;
    std::set<std::string> given;           // key paths the file set ("limits.databytes")
    std::vector<std::string> errors;       // "file:line: message"
};

// Parses YAML text (file is used in messages only).
SettingsResult parse_settings(std::string_view yaml_text, const std::string& file,
                              const std::vector<std::string>& plugin_keys = {});
// Reads DIR/asmtpd.yaml; a missing file gives the defaults (and no error).
SettingsResult load_settings(const std::string& config_dir, const std::vector<std::string>& plugin_keys = {});

// The machine's host name (gethostname), for the hostname default.
std::string machine_hostname();

}  // namespace asmtpd::smtp
