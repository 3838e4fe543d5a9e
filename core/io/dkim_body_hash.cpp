// dkim_body_hash.cpp - BodyCanonicalizer into Sha256.
#include "core/io/dkim_body_hash.hpp"

namespace asmtpd::io::dkim {

BodyHasher::BodyHasher(proto::dkim::Canon canon, std::optional<std::uint64_t> limit)
    : canon_(canon, limit, [this](std::string_view bytes) { sha_.update(bytes); }) {}

BodyDigest BodyHasher::finish() {
    canon_.finish();
    return {sha_.finish(), canon_.canonical_length()};
}

}  // namespace asmtpd::io::dkim
