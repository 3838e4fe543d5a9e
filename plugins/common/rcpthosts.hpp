// rcpthosts.hpp - qmail's list of local domains (me, rcpthosts, morercpthosts) and the domain
// test qmail-smtpd's addrallowed() makes. Shared by rcpt_ok (which accepts or refuses on it) and
// spp (which exports the answer to its programs as SMTPRCPTHOSTSOK).
//
//   "example.com"   exactly that domain        ".example.com"  every subdomain, not the domain
// ASCII case-insensitive; address literals are listed as written ("[192.0.2.1]").
// Files are read once by load() (plugin init time); domain tests are pure lookups.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hooks/flat_config.hpp"

namespace asmtpd::plugins {

class RcptHosts {
public:
    // `me` (or `hostname` when the file is missing), then rcpthosts and morercpthosts.
    static RcptHosts load(const hooks::FlatConfig& config, std::string_view hostname);

    void add(std::string_view entry);
    bool local_domain(std::string_view domain) const;   // any case
    bool empty() const { return exact_.empty() && suffixes_.empty(); }

private:
    std::set<std::string, std::less<>> exact_;
    std::vector<std::string> suffixes_;   // ".example.com", lower-cased
};

}  // namespace asmtpd::plugins
