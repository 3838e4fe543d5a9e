// client_env.hpp - the per-client access map: what tcprules gave qmail users. DIR/tcp.env says,
// per client address, whether the connection is allowed and which environment variables the
// session starts with (RELAYCLIENT, NOSPP, SPPCONFFILE, GREYLISTING, TARPITCOUNT ...).
//
// Format: tcprules source, one rule a line; '#' lines and blank lines are skipped; trailing
// white space (and a CR) is ignored.
//   rule     = address ":" ( "allow" / "deny" ) *( "," var )
//   var      = NAME "=" ( '"' text '"' / "'" text "'" / text-without-comma )
//   address  = ""                      the default rule
//            / "1.2.3.4"              one host             / "1.2.3.4-20"  a last-octet range
//            / "1.2.3." / "10."       tcprules prefixes    / "2001:db8:"   IPv6 prefix (extension)
//            / "10.0.0.0/8" / "::1"  CIDR and IPv6 (extensions)
//            / "=mx.example.com"      the client's reverse name / "=.example.com" a suffix / "="
// Most specific wins, as in tcprules: exact address, =host, longest network, longest =.suffix,
// "=" (any known name), the default; no match at all means allowed with no variables.
// Deviations from tcprules: an unquoted value runs to the next ',' (tcprules would take its
// first byte as the delimiter), "user@address" rules and ",!VAR" are refused, duplicate
// addresses and bad variable names are errors. Every error is "file:line: message".
// Pure except load() (reads the file, at start-up and reload only). Owner: core/smtp (the daemon applies it to each connection).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/proto/cidr.hpp"

namespace asmtpd::smtp {

class ClientEnv {
public:
    struct Rule {
        std::string where;    // "file:line"
        std::string address;  // as written
        bool allow = true;
        std::vector<std::pair<std::string, std::string>> vars;   // in order
    };
    struct Match {
        bool allowed = true;
        const Rule* rule = nullptr;                 // null: no rule matched
        std::map<std::string, std::string> vars;
    };

    static ClientEnv parse(std::string_view text, std::string_view file, std::vector<std::string>& errors);
    // Reads and parses the file; nullopt (and an error) when it cannot be read.
    static std::optional<ClientEnv> load(const std::string& path, std::vector<std::string>& errors);

    // `host`: the client's reverse name when known (for =host rules), else empty.
    Match lookup(std::string_view ip, std::string_view host = {}) const;
    std::size_t size() const { return rules_.size(); }
    const std::vector<Rule>& rules() const { return rules_; }

private:
    std::vector<Rule> rules_;
    struct IpLess {
        bool operator()(const proto::IpAddress& a, const proto::IpAddress& b) const { return a.bytes < b.bytes; }
    };
    std::map<proto::IpAddress, std::size_t, IpLess> exact_;
    std::vector<std::pair<proto::Cidr, std::size_t>> nets_;          // longest prefix first
    std::map<std::string, std::size_t, std::less<>> hosts_;          // "=host", lower-cased
    std::vector<std::pair<std::string, std::size_t>> host_suffixes_; // ".example.com", longest first
    std::optional<std::size_t> any_host_;                            // "="
    std::optional<std::size_t> default_;                             // ""
};

}  // namespace asmtpd::smtp
