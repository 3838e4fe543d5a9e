// registry.cpp - instantiates the plugins of config/plugins, in order, and collects each
// hook's handlers in that order (qpsmtpd: load order is hook order).
//
// Every problem is reported with the plugin line's file:line and building goes on, so one
// start-up (or --check) lists them all. A plugin whose init() failed is dropped: it never
// registers a handler. Plugins are owned here; HookEntry keeps raw pointers into plugins_,
// which never shrinks while the registry lives.
#include "hooks/registry.hpp"

#include <algorithm>

namespace asmtpd::hooks {

std::unique_ptr<Registry> Registry::build(const proto::PluginList& list,
                                          std::span<const CatalogEntry> catalog,
                                          const FlatConfig& config, const ServerFacts& server,
                                          std::vector<std::string>& errors) {
    auto reg = std::make_unique<Registry>();
    for (const auto& line : list.plugins) {
        auto entry = std::find_if(catalog.begin(), catalog.end(), [&](const CatalogEntry& e) {
            return e.name != nullptr && line.name == e.name;
        });
        if (entry == catalog.end()) {
            errors.push_back(line.where() + ": unknown plugin '" + line.name + "'");
            continue;
        }
        const std::string& instance = line.instance.empty() ? line.name : line.instance;
        if (reg->find(instance) != nullptr) {
            // Two instances sharing a name would share notes and log tags; qpsmtpd wants name:N.
            errors.push_back(line.where() + ": plugin '" + instance + "' is already loaded (use " +
                             line.name + ":N for another instance)");
            continue;
        }
        std::unique_ptr<Plugin> plugin = entry->make ? entry->make() : nullptr;
        if (!plugin) {
            errors.push_back(line.where() + ": plugin '" + instance + "': could not be created");
            continue;
        }
        plugin->set_identity(instance, server.plugin_timeout);
        const proto::SettingNode* settings = nullptr;
        if (entry->settings_key)
            if (auto it = server.plugin_settings.find(entry->settings_key); it != server.plugin_settings.end())
                settings = &it->second;
        if (auto err = plugin->init(PluginInit{line, config, server, settings})) {
            errors.push_back(line.where() + ": plugin '" + instance + "': " + *err);
            continue;
        }
        for (const auto& w : plugin->init_warnings())
            reg->warnings_.push_back(line.where() + ": plugin '" + instance + "': " + w);
        Registrar registrar(*plugin, reg->by_hook_.data());
        plugin->register_hooks(registrar);
        reg->plugins_.push_back(std::move(plugin));
    }
    return reg;
}

std::vector<std::string> Registry::plugin_names() const {
    std::vector<std::string> out;
    for (const auto& p : plugins_) out.push_back(p->name());
    return out;
}

const Plugin* Registry::find(std::string_view instance) const {
    for (const auto& p : plugins_)
        if (p->name() == instance) return p.get();
    return nullptr;
}

std::vector<std::string> Registry::storage_paths() const {
    std::vector<std::string> out;
    for (const auto& p : plugins_)
        for (auto& path : p->storage_paths()) out.push_back(std::move(path));
    return out;
}

}  // namespace asmtpd::hooks
