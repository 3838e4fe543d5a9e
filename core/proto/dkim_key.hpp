// dkim_key.hpp - the DKIM public key record in DNS (RFC 6376 §3.6.1, RFC 8463 §4).
//
// parse_key_record() takes the TXT record's text (its strings already concatenated) and
// returns the key or why the record is unusable (a permerror for the signature):
//   v=  optional, but when present must be the first tag and exactly "DKIM1";
//   k=  rsa (default) or ed25519; anything else is unusable;
//   p=  base64, required; empty means the key was revoked (§3.6.1), kept as `revoked`;
//   h=  acceptable hash algorithms (colon list; absent = all); unknown names are ignored;
//   s=  service types (colon list; absent = "*"); the key is usable only with "*" or email;
//   t=  flags: y (testing), s (i= must equal d= exactly); unknown flags ignored.
// key_refusal() then matches a parsed key against a signature (k= vs a=, h= vs the hash,
// s=, t=s). Key size and key decoding belong to the crypto layer (core/io/dkim_crypto).
// Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dkim_signature.hpp"

namespace asmtpd::proto::dkim {

enum class KeyType { Rsa, Ed25519 };

struct KeyRecord {
    KeyType type = KeyType::Rsa;
    std::string public_key;   // p= decoded: DER SubjectPublicKeyInfo (rsa) or 32 raw bytes (ed25519)
    bool revoked = false;     // p= was empty
    std::vector<std::string> hashes;   // h= as listed; empty = any
    bool testing = false;              // t=y
    bool strict_identity = false;      // t=s
};

struct ParsedKey {
    std::optional<KeyRecord> key;
    std::string error;   // why the record is unusable, when key is empty
};

ParsedKey parse_key_record(std::string_view txt);

// Empty when `key` may verify `sig`; otherwise why not ("key revoked", "key type does not
// match a=", "key h= excludes sha256", "t=s and i= is a subdomain of d=").
std::string key_refusal(const KeyRecord& key, const Signature& sig);

}  // namespace asmtpd::proto::dkim
