// dkim_body_hash.hpp - a DKIM body hash computed as the body streams in: the canonicalizer
// of core/proto/dkim_body feeding a SHA-256 (RFC 6376 §3.7 bh=).
//
// The dkim plugin keeps one BodyHasher per distinct (body canonicalization, l=) among the
// message's signatures, feeds each the body chunks as they arrive (after dot-unstuffing),
// and hands finish()'s BodyDigest to judge_signature(). The signer uses one with no limit.
// Not copyable (it owns an OpenSSL digest context); feed() after finish() is ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/io/dkim_crypto.hpp"
#include "core/proto/dkim_body.hpp"

namespace asmtpd::io::dkim {

// What the body side produced for one signature's (c= body, l=).
struct BodyDigest {
    std::string hash;                     // SHA-256 of the (limited) canonical body, 32 bytes
    std::uint64_t canonical_length = 0;   // the whole canonical body, uncapped
};

class BodyHasher {
public:
    BodyHasher(proto::dkim::Canon canon, std::optional<std::uint64_t> limit);
    BodyHasher(const BodyHasher&) = delete;
    BodyHasher& operator=(const BodyHasher&) = delete;

    void feed(std::string_view chunk) { canon_.feed(chunk); }
    BodyDigest finish();

private:
    Sha256 sha_;
    proto::dkim::BodyCanonicalizer canon_;
};

}  // namespace asmtpd::io::dkim
