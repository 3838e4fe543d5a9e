// sign_keys.hpp - the DKIM signing keys, read once at start-up from qpsmtpd's layout:
//
//   config/dkim/<domain>/selector   the selector (first line; a DNS name: "mar2013", "s1.mail")
//   config/dkim/<domain>/private    the private key, PEM (RSA of at least 1024 bits, or Ed25519)
//   config/dkim/<alias> -> <domain> a symbolic link: mail of <alias> is signed with <domain>'s
//                                    key as d=<domain> (the link target's last path component)
//
// Other files in config/dkim (qpsmtpd's dkim_key_gen.sh, a README) are ignored. Every
// directory must be complete: a missing or unreadable selector or private file, a selector
// that is not a DNS name, a key OpenSSL cannot read or that is too short, a directory whose
// name is not a domain, or no key at all is a start-up error naming the path.
// find() picks the key for a domain: its own directory, else the nearest parent domain's
// (qpsmtpd: mail of sub.example.org is signed by example.org's key, as d=example.org).
// Keys are immutable once loaded and shared by every worker loop. Blocking file reads: call
// load() from plugin init only, never on a loop.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/io/dkim_crypto.hpp"

namespace asmtpd::plugins::dkim {

struct SigningKey {
    std::string domain;     // d=: the directory's name, or the link target's for an alias
    std::string selector;   // s=
    io::dkim::PrivateKey key;
    std::string path;       // the private key file, for log lines
};

class SigningKeys {
public:
    // Reads every domain directory under `dir`. Returns an error ("<path>: why") or nullopt.
    std::optional<std::string> load(const std::string& dir);

    // The key for mail of `domain` (lower-case): exact, then each parent domain; null if none.
    const SigningKey* find(std::string_view domain) const;
    std::size_t size() const { return keys_.size(); }

private:
    std::map<std::string, SigningKey, std::less<>> keys_;   // by directory (alias) name
};

}  // namespace asmtpd::plugins::dkim
