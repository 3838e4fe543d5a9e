// dns_cache.hpp - the per-loop DNS answer cache: TTL-bounded, least-recently-used eviction.
//
// Rules: a result is kept for its ttl (the answer chain's smallest TTL, or the RFC 2308
// negative TTL), capped at one day for answers and three hours for negative answers (RFC 2308
// §5); a ttl of 0, SERVFAIL and timeout are never stored. find() gives a copy whose ttl is
// the time left. Times are the loop's milliseconds (uv_now), passed in, so the cache is plain
// data and unit-testable. Capacity 0 disables it. Not thread-safe: one per loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/proto/dns_message.hpp"

namespace asmtpd::io {

class DnsCache {
public:
    static constexpr std::uint32_t kMaxAnswerTtl = 86400;
    static constexpr std::uint32_t kMaxNegativeTtl = 10800;

    explicit DnsCache(std::size_t capacity) : capacity_(capacity) {}

    // "example.test/15": the name lower-cased without a final dot, then the type number.
    static std::string key(std::string_view name, proto::DnsType type);

    std::optional<proto::DnsResult> find(const std::string& key, std::uint64_t now_ms);
    void store(const std::string& key, const proto::DnsResult& result, std::uint64_t now_ms);
    std::size_t size() const { return index_.size(); }
    std::size_t capacity() const { return capacity_; }

private:
    struct Entry {
        std::string key;
        proto::DnsResult result;
        std::uint64_t expires_ms;
    };
    std::size_t capacity_;
    std::list<Entry> lru_;   // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace asmtpd::io
