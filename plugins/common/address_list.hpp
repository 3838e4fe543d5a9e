// address_list.hpp - envelope-address block lists in qmail's badmailfrom/badrcptto format.
//
//   line    = pattern [ 1*WSP message ]
//   pattern = "@" domain          ; every address of that domain (not its subdomains)
//           / local "@" domain    ; one address
//           / local               ; a domain-less address (bare "postmaster")
// Matching is ASCII case-insensitive on the whole pattern. Lines starting with '!' are
// qpsmtpd's negated regex patterns, which are not supported: they are skipped (and counted).
// The null sender "<>" never matches. When two lines match, the earlier line wins.
// Pure: no I/O; the lines come from FlatConfig at init.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/proto/address.hpp"

namespace asmtpd::plugins {

class AddressList {
public:
    struct Entry {
        std::string pattern;   // lower-cased, as written otherwise
        std::string message;   // empty when the line has none
        std::size_t index = 0; // position in the file, for "earlier line wins"
    };

    static AddressList parse(const std::vector<std::string>& lines);

    // The entry that blocks this address, or null.
    const Entry* match(const proto::Address& a) const;
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::size_t skipped() const { return skipped_; }

private:
    std::map<std::string, Entry, std::less<>> entries_;   // keyed by pattern
    std::size_t skipped_ = 0;
};

}  // namespace asmtpd::plugins
