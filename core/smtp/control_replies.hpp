// control_replies.hpp - the bodies of the control socket's status and plugins answers, from
// the metrics registry and what the serving process knows (docs/OPERATIONS.md "Control socket"
// lists the fields; asmtpd-ctl prints them).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/smtp/metrics.hpp"

namespace asmtpd::smtp {

struct ControlStatus {
    struct Worker {
        unsigned index = 0;
        pid_t pid = 0;     // 0: not running now (being restarted)
    };
    pid_t pid = 0;                     // the process that answers (supervisor, or the one worker)
    std::uint64_t generation = 1;      // 1 + successful reloads
    bool draining = false;
    std::vector<Worker> workers;
};

// {"pid", "version", "uptime", "started", "generation", "draining", "sessions", "workers": [{"index",
// "pid", "sessions"}], "reloads": {"ok", "failed"}}; sessions and reloads from the registry.
nlohmann::json status_body(const ControlStatus& status, const MetricsRegistry& registry);

// {"plugins": [{"name", "calls", "verdicts": {kind: n}, "hooks": {hook: n}}]} in the running
// configuration's order, counts summed over the workers; verdicts and hooks list nonzero counts.
nlohmann::json plugins_body(const MetricsRegistry& registry);

}  // namespace asmtpd::smtp
