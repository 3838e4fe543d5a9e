// dns_cache.cpp - LRU list plus hash index; expiry checked on lookup (no sweeping timer: an
// expired entry costs memory only until it is looked up again or evicted).
#include "core/io/dns_cache.hpp"

#include <algorithm>

namespace asmtpd::io {

std::string DnsCache::key(std::string_view name, proto::DnsType type) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    const std::string number = std::to_string(static_cast<unsigned>(type));
    std::string k;   // one allocation: this runs for every lookup, cached ones included
    k.reserve(name.size() + 1 + number.size());
    for (char c : name) k += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    k += '/';
    k += number;
    return k;
}

std::optional<proto::DnsResult> DnsCache::find(const std::string& key, std::uint64_t now_ms) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    auto entry = it->second;
    if (entry->expires_ms <= now_ms) {
        lru_.erase(entry);
        index_.erase(it);
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, entry);
    proto::DnsResult out = entry->result;
    out.ttl = static_cast<std::uint32_t>((entry->expires_ms - now_ms + 999) / 1000);
    return out;
}

void DnsCache::store(const std::string& key, const proto::DnsResult& result, std::uint64_t now_ms) {
    using proto::DnsStatus;
    if (capacity_ == 0 || result.ttl == 0) return;
    if (result.status == DnsStatus::servfail || result.status == DnsStatus::timeout) return;
    const std::uint32_t cap = result.status == DnsStatus::answer ? kMaxAnswerTtl : kMaxNegativeTtl;
    const std::uint64_t expires = now_ms + std::uint64_t{std::min(result.ttl, cap)} * 1000;
    if (auto it = index_.find(key); it != index_.end()) {
        it->second->result = result;
        it->second->expires_ms = expires;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    if (index_.size() >= capacity_) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
    }
    lru_.push_front(Entry{key, result, expires});
    index_.emplace(key, lru_.begin());
}

}  // namespace asmtpd::io
