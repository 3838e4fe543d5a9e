// dkim_sign.hpp - signing a message held in memory with DKIM (RFC 6376 §5, RFC 8463).
//
// sign_message() returns the DKIM-Signature field (folded, CRLF-terminated) to put at the
// top of the message; the message itself is not changed. It signs the headers named in
// SignOptions::headers that the message has, bottom-up, as the verifier selects them
// (§5.4.2), plus one extra listing of a name ("oversigning", §8.15) when `oversign` is set
// or the name is in `oversign_headers`, so a field of that name added later breaks the
// signature. From must be among the headers. sign_header_block() is the same with the body
// already hashed: the `dkim sign` plugin streams the body through a BodyHasher (relaxed or
// simple, no limit) as it arrives and keeps only the header block; sign_message() serves
// tests, plugtest and small messages.
// Must never: sign with an RSA key under 1024 bits (load_private_key_pem refuses it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/dkim_body_hash.hpp"
#include "core/io/dkim_crypto.hpp"

namespace asmtpd::io::dkim {

struct SignOptions {
    std::string domain;     // d=
    std::string selector;   // s=
    proto::dkim::Canon header_canon = proto::dkim::Canon::Relaxed;
    proto::dkim::Canon body_canon = proto::dkim::Canon::Relaxed;
    std::vector<std::string> headers{"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
                                     "In-Reply-To", "References", "MIME-Version", "Content-Type",
                                     "Content-Transfer-Encoding"};
    bool oversign = false;                      // every name in `headers`
    std::vector<std::string> oversign_headers;  // these names only (case ignored)
    std::optional<std::uint64_t> timestamp;    // t=
    std::optional<std::uint64_t> expiration;   // x=
    bool body_length = false;                  // add l= with the whole canonical body
    std::string identity;                      // i=, when not empty
};

struct SignResult {
    std::optional<std::string> field;   // "DKIM-Signature: ...\r\n"
    std::string error;                  // why not: "message has no From", "key does not fit a="
};

// Signs `message` (header, empty line, body; CRLF lines) with `key` (its type picks
// rsa-sha256 or ed25519-sha256).
SignResult sign_message(std::string_view message, const PrivateKey& key, const SignOptions& options);

// Signs a message whose header block is `header_block` (the header lines, CRLF-terminated,
// with or without the empty line) and whose body gave `body` under options.body_canon with
// no length limit (canonical_length is used for l=).
SignResult sign_header_block(std::string_view header_block, const BodyDigest& body, const PrivateKey& key,
                             const SignOptions& options);

}  // namespace asmtpd::io::dkim
