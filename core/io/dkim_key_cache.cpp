// dkim_key_cache.cpp - decoded key records, cached by their text (see dkim_key_cache.hpp).
#include "core/io/dkim_key_cache.hpp"

namespace asmtpd::io::dkim {

std::shared_ptr<const DecodedKey> decode_key(std::string_view txt) {
    auto d = std::make_shared<DecodedKey>();
    d->record = proto::dkim::parse_key_record(txt);
    if (d->record.key) d->loaded = load_public_key(d->record.key->type, d->record.key->public_key);
    return d;
}

std::shared_ptr<const DecodedKey> KeyCache::get(std::string_view txt) {
    {
        std::lock_guard<std::mutex> g(m_);
        if (auto it = entries_.find(txt); it != entries_.end()) return it->second;
    }
    auto d = decode_key(txt);   // outside the lock: another thread may decode the same record too
    std::lock_guard<std::mutex> g(m_);
    if (entries_.size() >= max_) entries_.clear();
    entries_.emplace(std::string(txt), d);
    return d;
}

std::size_t KeyCache::size() {
    std::lock_guard<std::mutex> g(m_);
    return entries_.size();
}

}  // namespace asmtpd::io::dkim
