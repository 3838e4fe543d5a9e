// dkim_key_cache.hpp - key records decoded once, not once per message: the parsed p=/k=/h=/t=
// tags and the OpenSSL public key, shared by every signature that names the same record.
//
// Decoding a 2048-bit RSA key record (tag parsing, base64, DER through OpenSSL 3's decoders)
// costs about as much as verifying the signature with it; a domain signs all its mail with one
// key. The cache is keyed by the record's text, so a changed or rotated record is a new entry
// and the DNS cache's TTLs still decide which record is current; a malformed record is cached
// with its error. Bounded: past `max` entries the cache starts over. Thread-safe (the dkim
// plugin judges on each worker loop's CPU thread); entries are immutable and shared.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/io/dkim_crypto.hpp"
#include "core/proto/dkim_key.hpp"

namespace asmtpd::io::dkim {

struct DecodedKey {
    proto::dkim::ParsedKey record;          // the tags, or the parse error
    std::optional<LoadedPublicKey> loaded;  // when the record parsed: the key, or why it is unusable
};

std::shared_ptr<const DecodedKey> decode_key(std::string_view txt);

class KeyCache {
public:
    explicit KeyCache(std::size_t max = 1024) : max_(max) {}
    std::shared_ptr<const DecodedKey> get(std::string_view txt);
    std::size_t size();

private:
    std::size_t max_;
    std::mutex m_;
    std::map<std::string, std::shared_ptr<const DecodedKey>, std::less<>> entries_;   // found by view: no copy per lookup
};

}  // namespace asmtpd::io::dkim
