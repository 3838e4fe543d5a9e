// metrics_render.cpp - MetricsRegistry::render: the summed blocks as Prometheus text (the
// metric list is docs/OPERATIONS.md "Metrics"; keep the two in step).
#include <fmt/format.h>

#include "core/proto/prom_text.hpp"
#include "core/smtp/metrics.hpp"
#include "hooks/result.hpp"

#ifndef ASMTPD_VERSION
#define ASMTPD_VERSION "unknown"
#endif

namespace asmtpd::smtp {

namespace {

using proto::PromLabel;
using proto::PromText;

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

void histogram(PromText& t, std::string_view name, std::span<const PromLabel> labels, const LatencyHistogram& h) {
    t.histogram(name, labels, kLatencyBounds, h.buckets, h.count, seconds(h.sum_ns));
}

}  // namespace

std::string MetricsRegistry::render() const {
    const auto summed = sum();
    const WorkerCounters& c = *summed;
    PromText t;
    t.family("asmtpd_build_info", "gauge", "Always 1; the version label is the daemon's.");
    {
        const PromLabel l[] = {{"version", ASMTPD_VERSION}};
        t.sample("asmtpd_build_info", l, std::uint64_t{1});
    }
    t.family("asmtpd_start_time_seconds", "gauge", "When the instance started, Unix time.");
    t.sample("asmtpd_start_time_seconds", {}, start_time());
    t.family("asmtpd_workers", "gauge", "Worker processes configured (workers:).");
    t.sample("asmtpd_workers", std::uint64_t{workers_});
    t.family("asmtpd_workers_up", "gauge", "Worker processes running now.");
    t.sample("asmtpd_workers_up", c.up);
    t.family("asmtpd_worker_exits_total", "counter", "Worker processes that exited (and were restarted unless stopping).");
    t.sample("asmtpd_worker_exits_total", worker_exits());
    t.family("asmtpd_config_generation", "gauge", "Configurations loaded by the most reloaded worker (1 + successful reloads).");
    t.sample("asmtpd_config_generation", c.generation);
    t.family("asmtpd_config_reloads_total", "counter", "SIGHUP reloads per worker, by result.");
    {
        const PromLabel ok[] = {{"result", "ok"}}, failed[] = {{"result", "failed"}};
        t.sample("asmtpd_config_reloads_total", ok, c.reloads_ok);
        t.sample("asmtpd_config_reloads_total", failed, c.reloads_failed);
    }

    t.family("asmtpd_connections_accepted_total", "counter", "Connections that got a session (not refused by a limit).");
    t.sample("asmtpd_connections_accepted_total", c.connections_accepted);
    t.family("asmtpd_connections_refused_total", "counter", "Connections refused before the greeting, by reason.");
    for (std::size_t i = 0; i < static_cast<std::size_t>(Refusal::Count_); ++i) {
        const PromLabel l[] = {{"reason", refusal_name(static_cast<Refusal>(i))}};
        t.sample("asmtpd_connections_refused_total", l, c.connections_refused[i]);
    }
    t.family("asmtpd_sessions_open", "gauge", "Sessions open now.");
    t.sample("asmtpd_sessions_open", c.open_sessions);
    t.family("asmtpd_sessions_total", "counter", "Sessions ended, by outcome.");
    for (std::size_t i = 0; i < static_cast<std::size_t>(SessionOutcome::Count_); ++i) {
        const PromLabel l[] = {{"outcome", session_outcome_name(static_cast<SessionOutcome>(i))}};
        t.sample("asmtpd_sessions_total", l, c.sessions[i]);
    }
    t.family("asmtpd_replies_total", "counter", "SMTP replies sent, by class.");
    for (std::size_t i = 0; i < 4; ++i) {
        const std::string cls = fmt::format("{}xx", i + 2);
        const PromLabel l[] = {{"class", cls}};
        t.sample("asmtpd_replies_total", l, c.replies[i]);
    }
    t.family("asmtpd_received_bytes_total", "counter", "Bytes read from SMTP clients (commands and message data).");
    t.sample("asmtpd_received_bytes_total", c.bytes_received);
    t.family("asmtpd_queue_messages_total", "counter", "Messages at the queue hook, by outcome.");
    for (std::size_t i = 0; i < static_cast<std::size_t>(QueueOutcome::Count_); ++i) {
        const PromLabel l[] = {{"outcome", queue_outcome_name(static_cast<QueueOutcome>(i))}};
        t.sample("asmtpd_queue_messages_total", l, c.queue[i]);
    }
    t.family("asmtpd_children_spawned_total", "counter", "External programs started (spp, qmail-queue, checkpassword ...).");
    t.sample("asmtpd_children_spawned_total", c.children_spawned);
    t.family("asmtpd_dns_lookups_total", "counter", "DNS lookups asked of the resolver.");
    t.sample("asmtpd_dns_lookups_total", c.dns_lookups);
    t.family("asmtpd_dns_cache_hits_total", "counter", "DNS lookups answered from the cache.");
    t.sample("asmtpd_dns_cache_hits_total", c.dns_cache_hits);
    t.family("asmtpd_dns_coalesced_total", "counter", "DNS lookups that joined an identical question in flight.");
    t.sample("asmtpd_dns_coalesced_total", c.dns_coalesced);
    t.family("asmtpd_dns_queries_total", "counter", "DNS questions sent to servers.");
    t.sample("asmtpd_dns_queries_total", c.dns_sent);
    t.family("asmtpd_dns_deadlines_total", "counter", "DNS lookups answered 'timeout' by their caller's deadline.");
    t.sample("asmtpd_dns_deadlines_total", c.dns_deadlines);

    t.family("asmtpd_hook_duration_seconds", "histogram", "Time a hook's chain took, from the first plugin call to the verdict.");
    for (std::size_t h = 0; h < hooks::kHookCount; ++h) {
        if (c.hook_latency[h].count == 0) continue;
        const PromLabel l[] = {{"hook", hooks::hook_name(static_cast<hooks::Hook>(h))}};
        histogram(t, "asmtpd_hook_duration_seconds", l, c.hook_latency[h]);
    }
    t.family("asmtpd_hook_verdicts_total", "counter", "Chain verdicts, by hook and result.");
    for (std::size_t h = 0; h < hooks::kHookCount; ++h)
        for (std::size_t k = 0; k < kVerdictKinds; ++k) {
            if (c.hook_verdicts[h][k] == 0) continue;
            const PromLabel l[] = {{"hook", hooks::hook_name(static_cast<hooks::Hook>(h))},
                                   {"verdict", verdict_kind_name(k)}};
            t.sample("asmtpd_hook_verdicts_total", l, c.hook_verdicts[h][k]);
        }

    std::vector<std::string> names = plugin_names();
    names.resize(kMaxMetricPlugins);
    names.push_back("_other");
    t.family("asmtpd_plugin_duration_seconds", "histogram", "Time a plugin took to answer a hook call.");
    for (std::size_t p = 0; p < names.size(); ++p) {
        if (c.plugin_latency[p].count == 0) continue;
        const PromLabel l[] = {{"plugin", names[p]}};
        histogram(t, "asmtpd_plugin_duration_seconds", l, c.plugin_latency[p]);
    }
    t.family("asmtpd_plugin_verdicts_total", "counter", "Plugin answers, by plugin, hook and verdict (timeout, error: no answer).");
    for (std::size_t p = 0; p < names.size(); ++p)
        for (std::size_t h = 0; h < hooks::kHookCount; ++h)
            for (std::size_t k = 0; k < kVerdictKinds; ++k) {
                if (c.plugin_verdicts[p][h][k] == 0) continue;
                const PromLabel l[] = {{"plugin", names[p]},
                                       {"hook", hooks::hook_name(static_cast<hooks::Hook>(h))},
                                       {"verdict", verdict_kind_name(k)}};
                t.sample("asmtpd_plugin_verdicts_total", l, c.plugin_verdicts[p][h][k]);
            }
    t.family("asmtpd_plugin_events_total", "counter", "Events plugins count themselves (Context::count), by plugin and event.");
    for (std::size_t p = 0; p < names.size(); ++p) {
        std::vector<std::string> events = event_names(static_cast<unsigned>(p));
        events.resize(kMaxPluginEvents);
        events.push_back("_other");
        for (std::size_t e = 0; e <= kMaxPluginEvents; ++e) {
            if (c.plugin_events[p][e] == 0) continue;
            const PromLabel l[] = {{"plugin", names[p]}, {"event", events[e]}};
            t.sample("asmtpd_plugin_events_total", l, c.plugin_events[p][e]);
        }
    }
    return t.take();
}

}  // namespace asmtpd::smtp
