// registry.hpp - the plugins of one configuration load, instantiated in config/plugins order,
// and the per-hook handler lists the chain runner walks.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hooks/plugin.hpp"

namespace asmtpd::hooks {

class Registry {
public:
    // Creates and initialises every plugin of the list. Unknown names and init failures are
    // appended to errors as "file:line: message"; the registry is usable only if none were.
    static std::unique_ptr<Registry> build(const proto::PluginList& list,
                                           std::span<const CatalogEntry> catalog,
                                           const FlatConfig& config, const ServerFacts& server,
                                           std::vector<std::string>& errors);

    const std::vector<HookEntry>& entries(Hook h) const { return by_hook_[static_cast<std::size_t>(h)]; }
    bool has(Hook h) const { return !entries(h).empty(); }
    std::size_t plugin_count() const { return plugins_.size(); }
    // Every plugin's instance name, in config/plugins order.
    std::vector<std::string> plugin_names() const;
    const Plugin* find(std::string_view instance) const;
    // Every plugin's storage_paths(), in plugin order.
    std::vector<std::string> storage_paths() const;
    // Every plugin's init_warnings(), as "file:line: plugin 'name': text", in plugin order.
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    std::vector<std::unique_ptr<Plugin>> plugins_;
    std::vector<std::string> warnings_;
    std::array<std::vector<HookEntry>, kHookCount> by_hook_;
};

}  // namespace asmtpd::hooks
