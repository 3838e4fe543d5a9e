// crypto.hpp - the few OpenSSL primitives the AUTH exchanges need: HMAC-MD5 for CRAM-MD5
// (RFC 2195), a constant-time comparison and unpredictable random bytes for challenges.
//
// Must never: compare secrets with an early-exit comparison (a timing oracle on the digest),
// or fall back to a predictable generator when the system's fails (the caller gets nullopt).
// Pure functions over bytes: no state, no I/O besides OpenSSL's own seeding.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::io {

// HMAC-MD5(key, data) as 32 lowercase hex digits.
std::string hmac_md5_hex(std::string_view key, std::string_view data);

// True when a and b are equal; the time taken depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// CRAM-MD5 check (RFC 2195): does `digest_hex` (either case) equal HMAC-MD5(secret, challenge)?
// `challenge` is the decoded challenge, angle brackets included ("<1896.697170952@host>").
bool cram_md5_verify(std::string_view secret, std::string_view challenge, std::string_view digest_hex);

// n bytes from OpenSSL's CSPRNG; nullopt if it is not seeded or fails.
std::optional<std::string> random_bytes(std::size_t n);
// A decimal string of `digits` unpredictable digits (the random part of a CRAM-MD5
// challenge); nullopt when random_bytes fails.
std::optional<std::string> random_digits(std::size_t digits);

}  // namespace asmtpd::io
