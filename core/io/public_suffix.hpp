// public_suffix.hpp - Organizational Domains from the public suffix list (RFC 7489 §3.2),
// through libpsl.
//
// The list is read once (at a plugin's init, never on the loop): a .dat file named by the
// operator, or libpsl's choice (psl_latest: the newer of its built-in list and Debian's
// /usr/share/publicsuffix, from the `publicsuffix` package). ICANN and private rules both
// count, as the list's own "registrable domain" does. Lookups are read-only and may run on
// any thread at once.
// organizational_domain(): the public suffix plus one label ("mail.example.co.uk" ->
// "example.co.uk"); a name that is itself a public suffix (or has no registrable part) is
// its own Organizational Domain. Input is lower-cased; a final dot is dropped.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct psl_ctx_st;   // libpsl's psl_ctx_t

namespace asmtpd::io {

class PublicSuffixList {
public:
    // `path` empty: libpsl's latest list. nullptr and *error set when nothing can be loaded.
    static std::shared_ptr<const PublicSuffixList> load(const std::string& path, std::string* error);

    struct Private {};   // only load() constructs one
    PublicSuffixList(Private, psl_ctx_st* psl, bool owned, std::string source)
        : psl_(psl), owned_(owned), source_(std::move(source)) {}
    ~PublicSuffixList();
    PublicSuffixList(const PublicSuffixList&) = delete;
    PublicSuffixList& operator=(const PublicSuffixList&) = delete;

    std::string organizational_domain(std::string_view domain) const;
    // Where the rules came from (for the start-up log).
    const std::string& source() const { return source_; }

private:
    psl_ctx_st* psl_;
    bool owned_;           // freed by the destructor (libpsl's built-in list is static data)
    std::string source_;
};

}  // namespace asmtpd::io
