// dkim_verify.hpp - one DKIM signature's verdict from its parts (RFC 6376 §6.1), and a
// whole-message verifier built on it for messages held in memory (tests, plugtest).
//
// The dkim plugin streams: it splits the header (proto::dkim::split_header_block), parses
// each DKIM-Signature, feeds the body to one BodyHasher (dkim_body_hash) per distinct
// (body canon, l=), fetches each key through the resolver, then calls judge_signature()
// with what it gathered. verify_message() does the same on a complete message with a
// synchronous key lookup, so both paths share the verdict rules:
//   permerror  signature or key record malformed, key unusable (revoked, wrong type, h=,
//              t=s, too short), no key record, rsa-sha1, header block malformed;
//   temperror  the key lookup failed temporarily (DNS timeout, SERVFAIL);
//   fail       x= in the past or t= in the future (by more than kClockSkew), body shorter
//              than l=, body hash mismatch, bad signature;
//   pass       otherwise.
// Results are spelled as RFC 8601 does (to_string). No I/O besides the caller's lookup.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/dkim_body_hash.hpp"
#include "core/io/dkim_key_cache.hpp"
#include "core/proto/dkim_key.hpp"
#include "core/proto/dkim_signature.hpp"

namespace asmtpd::io::dkim {

// Clock skew allowed between signer and verifier for x= and t= (opendkim's default drift;
// dkimpy allows 10 hours).
inline constexpr std::uint64_t kClockSkew = 300;

enum class Verdict { Pass, Fail, TempError, PermError };
std::string_view to_string(Verdict v);   // "pass" "fail" "temperror" "permerror"

struct SignatureResult {
    Verdict verdict = Verdict::PermError;
    std::string reason;   // empty on pass; otherwise why, for logs and Authentication-Results
    std::optional<proto::dkim::Signature> signature;   // set when the field parsed
    bool testing = false;   // the key had t=y
};

// What the key lookup found for "selector._domainkey.domain".
struct KeyAnswer {
    enum class Status { Found, NotFound, TempFail } status = Status::NotFound;
    std::string txt;   // the TXT record's strings concatenated (Found)
};

// The verdict for `sig`, given its canonical header data (signed_header_data), the body
// digest and the key lookup's answer; `now` is seconds since the epoch. With `keys`, the key
// record is decoded once per distinct record (dkim_key_cache) instead of once per call.
SignatureResult judge_signature(const proto::dkim::Signature& sig, std::string_view header_data,
                                const BodyDigest& body, const KeyAnswer& key, std::uint64_t now,
                                KeyCache* keys = nullptr);

using KeyLookup = std::function<KeyAnswer(const std::string& query_name)>;

// Every DKIM-Signature of `message` (header, empty line, body; CRLF lines), top first.
// A message without any gives an empty vector; a malformed header block gives one
// permerror result without a signature (nothing in it can be trusted to verify).
std::vector<SignatureResult> verify_message(std::string_view message, const KeyLookup& lookup, std::uint64_t now);

}  // namespace asmtpd::io::dkim
