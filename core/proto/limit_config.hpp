// limit_config.hpp - the `limit` plugin's settings (Haraka's limit.ini, as asmtpd.yaml `limit:`
// and plugin arguments) and its lookups: which counter a client, sender or recipient falls in
// and what limit applies there.
//
// Pure: no I/O, no clock. Values use Haraka's syntax `LIMIT[/PERIOD[UNIT]]`: "5" (5 per 60 s),
// "5/30" (per 30 s), "50/5m" (s, m, h, d; case-insensitive). A limit of 0 turns the limit off
// for that lookup (Haraka's `127=0`). Lookups, most specific first, as Haraka:
//   host     the address cut at each '.' (IPv4) or ':' (IPv6, full form without '::' and
//            leading zeros: 2001:db8:0:0:0:0:0:1), longest first ("192.0.2.7", "192.0.2",
//            "192.0", "192"), then the client's name and its parent domains, then the
//            history limit (karma), then `default`; the counter is the matched entry's, so
//            "192.0.2" counts the whole /24 together; history and `default` count per address.
//   address  the whole address ("user@example.com"), then the domain and its parents, then
//            `default`; `default` counts per address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/setting_tree.hpp"

namespace asmtpd::proto {

struct LimitRate {
    std::uint64_t limit = 0;         // 0: no limit
    std::uint64_t period_ms = 60000;
    bool operator==(const LimitRate&) const = default;
};

// "5", "5/30", "50/5m", "1/1D". Periods from 1 s to 366 days; limits up to 10^9.
std::optional<LimitRate> parse_limit_rate(std::string_view text);

// The karma history limits (Haraka's [TYPE_history]): by the sign of the connection note
// `karma_score`.
struct LimitHistory {
    bool enabled = false;
    std::optional<LimitRate> good, bad, none;
    // The limit for a score (nullopt: no score, or no limit given for its sign).
    std::optional<LimitRate> pick(std::optional<std::int64_t> karma_score) const;
};

struct LimitMatch {
    std::string key;   // the counter's name: the matched entry, or the address / IP for default
    LimitRate rate;
};

// One section: lookups to limits and a default.
struct LimitSection {
    bool enabled = false;
    std::map<std::string, LimitRate, std::less<>> entries;   // lower case
    std::optional<LimitRate> dflt;                           // `default` or `max`
    LimitHistory history;
    std::uint64_t max_relaying = 0;                          // recipients: relay clients' limit
    std::uint64_t ttl_ms = 300000;                           // concurrency: the counter's lifetime

    // ip: the client's address as text; host: its forward-confirmed name (may be empty).
    std::optional<LimitMatch> for_host(std::string_view ip, std::string_view host,
                                       std::optional<std::int64_t> karma_score) const;
    // address: "user@domain" (empty for the null sender: then only `default`, keyed "<>").
    std::optional<LimitMatch> for_address(std::string_view address) const;
    // for_host() answers from the address alone: no history (karma_score) and no name entries,
    // so its answer cannot change between pre_connection and connect.
    bool by_address_only() const;
};

struct LimitConfig {
    std::uint64_t tarpit_delay_ms = 0;
    std::uint64_t timeout_ms = 0;     // 0: the state store's timeout
    bool fail_defer = false;          // on_error defer
    LimitSection concurrency, rate_conn, rate_rcpt_host, rate_rcpt_sender, rate_rcpt, rate_rcpt_null;
    LimitSection recipients, messages, unrecognized_commands, errors;

    bool needs_store() const {
        return concurrency.enabled || rate_conn.enabled || rate_rcpt_host.enabled || rate_rcpt_sender.enabled ||
               rate_rcpt.enabled || rate_rcpt_null.enabled;
    }
};

// Plugin arguments: `KEY VALUE` pairs; a section name enables it with VALUE as its default
// ("concurrency 3", "rate_conn 5/1m"), plus on_error, timeout, tarpit_delay. Error text or nullopt.
std::optional<std::string> parse_limit_args(const std::vector<std::string>& args, LimitConfig& out);

// The asmtpd.yaml `limit:` section, laid over what the arguments gave. Errors name the value's
// place ("asmtpd.yaml:12: limit.rate_conn.default: ..."). Error text or nullopt.
std::optional<std::string> parse_limit_settings(const SettingNode& section, LimitConfig& out);

// "2001:db8::1" -> "2001:db8:0:0:0:0:0:1"; IPv4 (also IPv4-mapped) as a dotted quad; other
// text unchanged.
std::string limit_normalized_ip(std::string_view ip);

}  // namespace asmtpd::proto
