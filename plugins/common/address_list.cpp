// address_list.cpp - badmailfrom/badrcptto style lists. See address_list.hpp.
#include "plugins/common/address_list.hpp"

#include "core/proto/text.hpp"
#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

AddressList AddressList::parse(const std::vector<std::string>& lines) {
    AddressList list;
    std::size_t index = 0;
    for (const auto& line : lines) {
        auto [pattern, message] = proto::split_first_word(line);
        if (pattern.empty()) continue;
        if (pattern.front() == '!') {
            ++list.skipped_;
            continue;
        }
        Entry e{proto::to_lower(pattern), std::string(message), index++};
        list.entries_.emplace(e.pattern, std::move(e));   // a repeated pattern keeps its first line
    }
    return list;
}

const AddressList::Entry* AddressList::match(const proto::Address& a) const {
    if (a.is_null() || entries_.empty()) return nullptr;
    std::string domain = proto::to_lower(a.domain);
    std::string whole = proto::to_lower(a.local);
    if (!domain.empty()) whole += "@" + domain;

    const Entry* best = nullptr;
    auto consider = [&](const std::string& key) {
        auto it = entries_.find(key);
        if (it != entries_.end() && (!best || it->second.index < best->index)) best = &it->second;
    };
    consider(whole);
    if (!domain.empty()) consider("@" + domain);
    return best;
}

}  // namespace asmtpd::plugins
