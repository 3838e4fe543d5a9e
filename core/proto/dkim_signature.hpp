// dkim_signature.hpp - the DKIM-Signature header field (RFC 6376 §3.5) as a checked value.
//
// parse_signature() takes the field's value (everything after "DKIM-Signature:", folding
// included) and returns a Signature or the reason the verifier's result is permerror
// (§6.1.1): malformed tag list, v= not "1", a required tag (v a b bh d h s) missing, an
// unknown a= or c=, bad base64 in b=/bh=, h= without From, i= outside d=, q= without
// dns/txt, x= not after t=, non-numeric l=/t=/x=. Unknown tags are ignored (§3.2).
// rsa-sha1 parses (so the result can name it) but `acceptable` is false: RFC 8301 says
// verifiers must not accept it. Time checks need a clock and live in signature_expired().
// Pure: no I/O, no crypto.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto::dkim {

enum class Algorithm { RsaSha1, RsaSha256, Ed25519Sha256 };
std::string_view to_string(Algorithm a);   // "rsa-sha256", ...

enum class Canon { Simple, Relaxed };
std::string_view to_string(Canon c);   // "simple" | "relaxed"

struct Signature {
    Algorithm algorithm = Algorithm::RsaSha256;
    bool acceptable = true;                 // false for rsa-sha1 (RFC 8301)
    Canon header_canon = Canon::Simple;     // c= before '/' (default simple)
    Canon body_canon = Canon::Simple;       // c= after '/' (default simple)
    std::string domain;                     // d=, as written
    std::string selector;                   // s=, as written
    std::vector<std::string> signed_headers;   // h=, in order, names as written
    std::string body_hash;                  // bh=, decoded bytes
    std::string signature;                  // b=, decoded bytes
    std::optional<std::uint64_t> body_length;   // l=
    std::optional<std::uint64_t> timestamp;     // t=
    std::optional<std::uint64_t> expiration;    // x=
    std::string identity;                   // i= decoded (dkim-quoted-printable), or "@" + d= (§3.5)
    std::string identity_domain;            // the part of i= after its last '@'
    // Where b='s value sits in the field value parsed (just after '=' to its last character),
    // so the header hash input can empty it (§3.7) without parsing the tag list again.
    std::size_t b_from = 0, b_to = 0;
};

struct ParsedSignature {
    std::optional<Signature> signature;
    std::string error;   // why the signature is a permerror, when signature is empty
};

ParsedSignature parse_signature(std::string_view field_value);

// True when x= is present and `now` (seconds since the epoch) is more than `skew` seconds
// after it (§3.5 x=; verifiers may allow for clock skew).
bool signature_expired(const Signature& sig, std::uint64_t now, std::uint64_t skew = 0);
// True when t= is more than `skew` seconds after `now` (§3.5 t=: a signature from the future).
bool signed_in_future(const Signature& sig, std::uint64_t now, std::uint64_t skew = 0);

// "selector._domainkey.domain", the TXT name the key is fetched from (§3.6.2.1).
std::string key_query_name(const Signature& sig);

// True when `sub` equals `domain` or is a subdomain of it, ASCII case-insensitive
// (the i= within d= rule, and t=s in key records).
bool same_or_subdomain(std::string_view sub, std::string_view domain);

}  // namespace asmtpd::proto::dkim
