// sasl.hpp - the pure parts of SMTP AUTH (RFC 4954) for the PLAIN (RFC 4616), LOGIN and
// CRAM-MD5 (RFC 2195) mechanisms: strict base64, response decoding, message parsers and the
// replies for malformed input. The HMAC check of CRAM-MD5 lives in io/crypto (OpenSSL).
//
// Pure: no I/O, no logging, no secrets kept. Never accepts sloppy base64 (whitespace, missing
// or misplaced padding, non-zero pad bits): two decoders disagreeing about one string is how
// credential checks get bypassed. Errors are the Reply the client should get.
// Choices: malformed decoded messages get 501 5.5.2 (a syntax error, like bad base64);
// identities (authzid, authcid, LOGIN user, CRAM-MD5 user) must be UTF-8 without control
// characters because they reach logs, headers and spp environments; passwords may hold any
// byte but NUL (legacy clients send Latin-1) and are never put in error texts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/expected.hpp"
#include "core/proto/reply.hpp"

namespace asmtpd::proto {

// RFC 4954 §4: AUTH lines and responses up to 12288 octets, CRLF included.
inline constexpr std::size_t kSaslMaxLine = 12288;
// LOGIN's traditional challenges: base64 of "Username:" and "Password:".
inline constexpr std::string_view kLoginUserPrompt = "VXNlcm5hbWU6";
inline constexpr std::string_view kLoginPasswordPrompt = "UGFzc3dvcmQ6";

enum class SaslMechanism { Plain, Login, CramMd5 };
// Case-insensitive "PLAIN" | "LOGIN" | "CRAM-MD5"; nullopt for anything else.
std::optional<SaslMechanism> parse_sasl_mechanism(std::string_view name);
std::string_view to_string(SaslMechanism m);   // "PLAIN", "LOGIN", "CRAM-MD5"

// RFC 4648 §4 with padding.
std::string base64_encode(std::string_view bytes);
// Strict: alphabet A-Z a-z 0-9 + /, length a multiple of 4, '=' only as the last one or two
// characters, unused bits zero, no white space. "" decodes to "".
std::optional<std::string> base64_decode(std::string_view text);

// The replies (with enhanced codes) for a failed exchange step.
Reply sasl_bad_base64();      // 501 5.5.2
Reply sasl_cancelled();       // 501 5.7.0 (the client sent "*")
Reply sasl_line_too_long();   // 500 5.5.6
Reply sasl_malformed(std::string_view what);   // 501 5.5.2 <what>

// True for the cancel line "*" (RFC 4954 §4).
bool is_sasl_cancel(std::string_view line);
// The initial response argument of AUTH: "=" is an empty response; else strict base64.
Expected<std::string> decode_initial_response(std::string_view arg);
// A client line of the exchange (without CRLF): "*" gives sasl_cancelled(); longer than
// kSaslMaxLine - 2 gives sasl_line_too_long(); else strict base64 (an empty line is "").
Expected<std::string> decode_response(std::string_view line);

struct PlainCredentials {
    std::string authzid;    // empty: act as authcid
    std::string authcid;
    std::string password;
    bool operator==(const PlainCredentials&) const = default;
};
// RFC 4616: [authzid] NUL authcid NUL passwd, exactly two NULs, authcid and passwd non-empty.
Expected<PlainCredentials> parse_plain(std::string_view decoded);

// LOGIN's decoded user name (non-empty identity) and password (anything without NUL).
Expected<std::string> parse_login_user(std::string_view decoded);
Expected<std::string> parse_login_password(std::string_view decoded);

// "<random.timestamp@hostname>" (RFC 2195 §2; the caller base64-encodes it for the wire).
// random should be unpredictable (io::random_digits); hostname is the server's name.
std::string cram_md5_challenge(std::string_view random, std::uint64_t timestamp, std::string_view hostname);

struct CramMd5Response {
    std::string user;
    std::string digest;     // 32 lowercase hex digits
    bool operator==(const CramMd5Response&) const = default;
};
// "user SP digest": the user is everything before the last space (it may contain spaces);
// the digest is 32 hex digits of either case.
Expected<CramMd5Response> parse_cram_md5(std::string_view decoded);

}  // namespace asmtpd::proto
