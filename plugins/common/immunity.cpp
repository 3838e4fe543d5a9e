// immunity.cpp - qpsmtpd's is_immune() rules (see immunity.hpp).
#include "plugins/common/immunity.hpp"

namespace asmtpd::plugins {

namespace {
bool noted(const hooks::Notes& n, std::string_view key) {
    auto it = n.find(key);
    return it != n.end() && !it->second.empty() && it->second != "0";
}
}  // namespace

std::string_view immunity(hooks::Context& ctx) {
    const auto& c = ctx.connection();
    if (c.relay_client) return "relay client";
    if (!c.auth_user.empty()) return "authenticated";
    if (noted(ctx.notes(), kWhitelistHostNote)) return "whitelisted host";
    if (auto* t = ctx.transaction(); t && noted(t->notes, kWhitelistSenderNote)) return "whitelisted sender";
    return {};
}

}  // namespace asmtpd::plugins
