// control_replies.cpp - status and plugins answers of the control socket (see the header).
#include "core/smtp/control_replies.hpp"

#include <chrono>
#include <string>

#include "hooks/hook.hpp"

#ifndef ASMTPD_VERSION
#define ASMTPD_VERSION "unknown"
#endif

namespace asmtpd::smtp {

nlohmann::json status_body(const ControlStatus& status, const MetricsRegistry& registry) {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    nlohmann::json j;
    j["pid"] = static_cast<long>(status.pid);
    j["version"] = ASMTPD_VERSION;
    j["started"] = registry.start_time();
    j["uptime"] = std::max(0.0, now - registry.start_time());
    j["generation"] = status.generation;
    j["draining"] = status.draining;
    std::uint64_t sessions = 0, ok = 0, failed = 0;
    auto workers = nlohmann::json::array();
    for (const auto& w : status.workers) {
        const WorkerCounters& c = registry.worker(w.index);
        const std::uint64_t open = w.pid > 0 ? metric_load(c.open_sessions) : 0;
        sessions += open;
        ok += metric_load(c.reloads_ok);
        failed += metric_load(c.reloads_failed);
        workers.push_back({{"index", w.index}, {"pid", static_cast<long>(w.pid)}, {"sessions", open}});
    }
    j["sessions"] = sessions;
    j["workers"] = std::move(workers);
    j["reloads"] = {{"ok", ok}, {"failed", failed}};
    return j;
}

nlohmann::json plugins_body(const MetricsRegistry& registry) {
    const auto summed = registry.sum();
    std::vector<std::string> names = registry.plugin_names();
    names.resize(kMaxMetricPlugins);
    names.push_back("_other");
    auto list = nlohmann::json::array();
    std::vector<bool> listed(names.size(), false);
    for (unsigned slot : registry.plugin_order()) {
        if (slot >= names.size() || listed[slot]) continue;   // "_other" once
        listed[slot] = true;
        std::uint64_t calls = 0;
        std::uint64_t by_kind[kVerdictKinds] = {};
        auto hooks_json = nlohmann::json::object();
        for (std::size_t h = 0; h < hooks::kHookCount; ++h) {
            std::uint64_t n = 0;
            for (std::size_t k = 0; k < kVerdictKinds; ++k) {
                n += summed->plugin_verdicts[slot][h][k];
                by_kind[k] += summed->plugin_verdicts[slot][h][k];
            }
            if (n) hooks_json[std::string(hooks::hook_name(static_cast<hooks::Hook>(h)))] = n;
            calls += n;
        }
        auto verdicts = nlohmann::json::object();
        for (std::size_t k = 0; k < kVerdictKinds; ++k)
            if (by_kind[k]) verdicts[std::string(verdict_kind_name(k))] = by_kind[k];
        list.push_back({{"name", names[slot]}, {"calls", calls}, {"verdicts", std::move(verdicts)},
                        {"hooks", std::move(hooks_json)}});
    }
    return {{"plugins", std::move(list)}};
}

}  // namespace asmtpd::smtp
