// metrics.cpp - the shared registry and a worker's view of it (see metrics.hpp).
#include "core/smtp/metrics.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>

#include "core/smtp/shared_mutex.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::size_t kNameBytes = 64;
}

struct MetricsRegistry::Header {
    pthread_mutex_t mutex;       // the plugin names table, the plugin order, the reload errors
    double start_time;
    std::uint64_t worker_exits;
    std::uint64_t plugin_count;
    char plugin_names[kMaxMetricPlugins][kNameBytes];
    std::uint64_t order_count;
    std::uint8_t order[kMaxPluginOrder];
    std::uint64_t event_count[kMaxMetricPlugins + 1];
    char event_names[kMaxMetricPlugins + 1][kMaxPluginEvents][kNameBytes];
};
// After the header and the worker blocks: one kReloadErrorBytes text per worker.

void metric_add(std::uint64_t& word, std::uint64_t n) {
    std::atomic_ref<std::uint64_t> a(word);
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void metric_set(std::uint64_t& word, std::uint64_t v) {
    std::atomic_ref<std::uint64_t>(word).store(v, std::memory_order_relaxed);
}

std::uint64_t metric_load(const std::uint64_t& word) {
    return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(word)).load(std::memory_order_relaxed);
}

void observe_latency(LatencyHistogram& h, std::uint64_t ns) {
    const double seconds = static_cast<double>(ns) / 1e9;
    const auto it = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds);
    if (it != kLatencyBounds.end()) metric_add(h.buckets[it - kLatencyBounds.begin()]);
    metric_add(h.count);
    metric_add(h.sum_ns, ns);
}

std::string_view refusal_name(Refusal r) {
    switch (r) {
        case Refusal::MaxConnections: return "max_connections";
        case Refusal::MaxConnectionsPerIp: return "max_connections_per_ip";
        case Refusal::Access: return "access";
        case Refusal::ShuttingDown: return "shutting_down";
        case Refusal::Count_: break;
    }
    return "unknown";
}

std::string_view session_outcome_name(SessionOutcome o) {
    switch (o) {
        case SessionOutcome::Quit: return "quit";
        case SessionOutcome::ClientClosed: return "client_closed";
        case SessionOutcome::Timeout: return "timeout";
        case SessionOutcome::Refused: return "refused";
        case SessionOutcome::Denied: return "denied";
        case SessionOutcome::TooManyErrors: return "too_many_errors";
        case SessionOutcome::Shutdown: return "shutdown";
        case SessionOutcome::Tls: return "tls_failed";
        case SessionOutcome::ProtocolError: return "protocol_error";
        case SessionOutcome::Count_: break;
    }
    return "unknown";
}

std::string_view queue_outcome_name(QueueOutcome o) {
    switch (o) {
        case QueueOutcome::Queued: return "queued";
        case QueueOutcome::Deferred: return "deferred";
        case QueueOutcome::Rejected: return "rejected";
        case QueueOutcome::Count_: break;
    }
    return "unknown";
}

std::string_view verdict_kind_name(std::size_t kind) {
    static constexpr std::string_view names[kVerdictKinds] = {
        "declined", "ok", "deny", "denysoft", "deny_disconnect", "denysoft_disconnect", "done", "timeout", "error"};
    return kind < kVerdictKinds ? names[kind] : "unknown";
}

SessionOutcome session_outcome(std::string_view why) {
    auto starts = [why](std::string_view p) { return why.substr(0, p.size()) == p; };
    if (starts("quit")) return SessionOutcome::Quit;
    if (why == "client closed connection") return SessionOutcome::ClientClosed;
    if (why.find("timeout") != std::string_view::npos || why == "no PROXY header in time" ||
        why == "data below minimum rate")
        return SessionOutcome::Timeout;
    if (starts("refused:") || starts("too many connections from")) return SessionOutcome::Refused;
    if (starts("denied:") || why == "dropped by plugin" || why == "tcp.env deny" || why == "too many AUTH failures")
        return SessionOutcome::Denied;
    if (why == "too many errors") return SessionOutcome::TooManyErrors;
    if (why == "server shutting down") return SessionOutcome::Shutdown;
    if (starts("TLS") || starts("smtps")) return SessionOutcome::Tls;
    return SessionOutcome::ProtocolError;
}

// ---- the shared mapping --------------------------------------------------------------

std::shared_ptr<MetricsRegistry> MetricsRegistry::create(unsigned workers, std::string& error) {
    if (workers == 0) workers = 1;
    const std::size_t size =
        sizeof(Header) + static_cast<std::size_t>(workers) * (sizeof(WorkerCounters) + kReloadErrorBytes);
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        error = std::string("metrics: mmap: ") + std::strerror(errno);
        return nullptr;
    }
    auto* h = new (base) Header{};
    h->start_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (const int rc = init_shared_mutex(h->mutex); rc != 0) {
        munmap(base, size);
        error = std::string("metrics: mutex: ") + std::strerror(rc);
        return nullptr;
    }
    return std::make_shared<MetricsRegistry>(Token{}, base, size, workers);
}

MetricsRegistry::MetricsRegistry(Token, void* base, std::size_t size, unsigned workers)
    : base_(base), size_(size), workers_(workers) {}

MetricsRegistry::~MetricsRegistry() { munmap(base_, size_); }

MetricsRegistry::Header& MetricsRegistry::header() const { return *static_cast<Header*>(base_); }

WorkerCounters& MetricsRegistry::worker(unsigned index) const {
    auto* first = reinterpret_cast<WorkerCounters*>(static_cast<char*>(base_) + sizeof(Header));
    return first[index < workers_ ? index : 0];
}

unsigned MetricsRegistry::plugin_slot(std::string_view name) {
    Header& h = header();
    if (name.size() >= kNameBytes) name = name.substr(0, kNameBytes - 1);
    // A worker that died holding the lock was writing one name; the count is only raised after.
    SharedMutexLock lock(h.mutex);
    unsigned slot = kMaxMetricPlugins;
    const auto n = static_cast<unsigned>(std::min<std::uint64_t>(metric_load(h.plugin_count), kMaxMetricPlugins));
    for (unsigned i = 0; i < n; ++i)
        if (std::string_view(h.plugin_names[i]) == name) slot = i;
    if (slot == kMaxMetricPlugins && n < kMaxMetricPlugins) {
        std::memset(h.plugin_names[n], 0, kNameBytes);
        std::memcpy(h.plugin_names[n], name.data(), name.size());
        std::atomic_thread_fence(std::memory_order_release);
        metric_set(h.plugin_count, n + 1);
        slot = n;
    }
    return slot;
}

std::vector<std::string> MetricsRegistry::plugin_names() const {
    Header& h = header();
    const auto n = static_cast<unsigned>(std::min<std::uint64_t>(metric_load(h.plugin_count), kMaxMetricPlugins));
    std::atomic_thread_fence(std::memory_order_acquire);
    std::vector<std::string> out;
    for (unsigned i = 0; i < n; ++i) out.emplace_back(h.plugin_names[i], strnlen(h.plugin_names[i], kNameBytes));
    return out;
}

unsigned MetricsRegistry::event_slot(unsigned plugin_slot, std::string_view event) {
    Header& h = header();
    plugin_slot = std::min(plugin_slot, kMaxMetricPlugins);
    if (event.size() >= kNameBytes) event = event.substr(0, kNameBytes - 1);
    SharedMutexLock lock(h.mutex);
    const auto n = static_cast<unsigned>(std::min<std::uint64_t>(metric_load(h.event_count[plugin_slot]), kMaxPluginEvents));
    for (unsigned i = 0; i < n; ++i)
        if (std::string_view(h.event_names[plugin_slot][i]) == event) return i;
    if (n == kMaxPluginEvents) return kMaxPluginEvents;
    std::memset(h.event_names[plugin_slot][n], 0, kNameBytes);
    std::memcpy(h.event_names[plugin_slot][n], event.data(), event.size());
    std::atomic_thread_fence(std::memory_order_release);
    metric_set(h.event_count[plugin_slot], n + 1);
    return n;
}

std::vector<std::string> MetricsRegistry::event_names(unsigned plugin_slot) const {
    Header& h = header();
    plugin_slot = std::min(plugin_slot, kMaxMetricPlugins);
    const auto n = static_cast<unsigned>(std::min<std::uint64_t>(metric_load(h.event_count[plugin_slot]), kMaxPluginEvents));
    std::atomic_thread_fence(std::memory_order_acquire);
    std::vector<std::string> out;
    for (unsigned i = 0; i < n; ++i)
        out.emplace_back(h.event_names[plugin_slot][i], strnlen(h.event_names[plugin_slot][i], kNameBytes));
    return out;
}

void MetricsRegistry::set_plugin_order(const std::vector<unsigned>& slots) {
    Header& h = header();
    // A worker that died holding the lock left a half-written list; the next load rewrites it.
    SharedMutexLock lock(h.mutex);
    const std::size_t n = std::min(slots.size(), kMaxPluginOrder);
    for (std::size_t i = 0; i < n; ++i) h.order[i] = static_cast<std::uint8_t>(std::min(slots[i], kMaxMetricPlugins));
    h.order_count = n;
}

std::vector<unsigned> MetricsRegistry::plugin_order() const {
    Header& h = header();
    SharedMutexLock lock(h.mutex);
    return std::vector<unsigned>(h.order, h.order + std::min<std::uint64_t>(h.order_count, kMaxPluginOrder));
}

void MetricsRegistry::set_reload_error(unsigned index, std::string_view text) {
    if (index >= workers_) return;
    char* at = static_cast<char*>(base_) + sizeof(Header) + workers_ * sizeof(WorkerCounters) + index * kReloadErrorBytes;
    SharedMutexLock lock(header().mutex);   // a half-written text is only a garbled message
    const std::size_t n = std::min(text.size(), kReloadErrorBytes - 1);
    if (n) std::memcpy(at, text.data(), n);
    at[n] = '\0';
}

std::string MetricsRegistry::reload_error(unsigned index) const {
    if (index >= workers_) return {};
    const char* at = static_cast<const char*>(base_) + sizeof(Header) + workers_ * sizeof(WorkerCounters) +
                     index * kReloadErrorBytes;
    SharedMutexLock lock(header().mutex);
    return std::string(at, strnlen(at, kReloadErrorBytes));
}

void MetricsRegistry::worker_gone(unsigned index) {
    if (index >= workers_) return;
    WorkerCounters& w = worker(index);
    metric_set(w.open_sessions, 0);
    metric_set(w.up, 0);
    metric_add(header().worker_exits);
}

std::uint64_t MetricsRegistry::worker_exits() const { return metric_load(header().worker_exits); }
double MetricsRegistry::start_time() const { return header().start_time; }

std::unique_ptr<WorkerCounters> MetricsRegistry::sum() const {
    auto total = std::make_unique<WorkerCounters>();
    constexpr std::size_t kWords = sizeof(WorkerCounters) / sizeof(std::uint64_t);
    auto* out = reinterpret_cast<std::uint64_t*>(total.get());
    std::uint64_t generation = 0;
    for (unsigned w = 0; w < workers_; ++w) {
        const auto* in = reinterpret_cast<const std::uint64_t*>(&worker(w));
        for (std::size_t i = 0; i < kWords; ++i) out[i] += metric_load(in[i]);
        generation = std::max(generation, metric_load(worker(w).generation));
    }
    total->generation = generation;
    return total;
}

// ---- one worker -----------------------------------------------------------------------

WorkerMetrics::WorkerMetrics(std::shared_ptr<MetricsRegistry> registry, unsigned worker)
    : registry_(std::move(registry)), c_(registry_->worker(worker)), index_(worker) {
    metric_set(c_.up, 1);
    metric_set(c_.open_sessions, 0);   // a restarted worker: its predecessor's sessions are gone
    metric_set(c_.generation, 0);      // gauges of this process, not of the block
}

WorkerMetrics::~WorkerMetrics() {
    metric_set(c_.up, 0);
    metric_set(c_.open_sessions, 0);
}

void WorkerMetrics::configuration_loaded(const hooks::Registry& plugins) {
    for (std::size_t h = 0; h < hooks::kHookCount; ++h)
        for (const auto& e : plugins.entries(static_cast<hooks::Hook>(h)))
            slots_[e.plugin] = registry_->plugin_slot(e.plugin->name());
    std::vector<unsigned> order;
    for (const auto& name : plugins.plugin_names()) order.push_back(registry_->plugin_slot(name));
    registry_->set_plugin_order(order);
    metric_add(c_.generation);
    if (loaded_) metric_add(c_.reloads_ok);
    loaded_ = true;
}

void WorkerMetrics::reload_failed(std::string_view why) {
    registry_->set_reload_error(index_, why);
    std::atomic_thread_fence(std::memory_order_release);
    metric_add(c_.reloads_failed);
}

void WorkerMetrics::session_closed(SessionOutcome o) {
    metric_add(c_.sessions[static_cast<std::size_t>(o)]);
    const std::uint64_t open = metric_load(c_.open_sessions);
    if (open > 0) metric_set(c_.open_sessions, open - 1);
}

void WorkerMetrics::reply(int code) {
    const int cls = code / 100;
    if (cls >= 2 && cls <= 5) metric_add(c_.replies[cls - 2]);
}

void WorkerMetrics::hook_done(hooks::Hook h, hooks::Result r, std::uint64_t ns) {
    const auto i = static_cast<std::size_t>(h);
    if (i >= hooks::kHookCount) return;
    observe_latency(c_.hook_latency[i], ns);
    metric_add(c_.hook_verdicts[i][static_cast<std::size_t>(r)]);
}

void WorkerMetrics::plugin_answered(hooks::Hook hook, const hooks::Plugin& plugin, Answer answer, hooks::Result result,
                                    std::uint64_t ns) {
    const auto h = static_cast<std::size_t>(hook);
    if (h >= hooks::kHookCount) return;
    auto it = slots_.find(&plugin);
    const unsigned slot = it == slots_.end() ? kMaxMetricPlugins : it->second;
    const std::size_t kind = answer == Answer::Timeout     ? kVerdictTimeout
                             : answer == Answer::Exception ? kVerdictError
                                                           : static_cast<std::size_t>(result);
    observe_latency(c_.plugin_latency[slot], ns);
    metric_add(c_.plugin_verdicts[slot][h][kind < kVerdictKinds ? kind : kVerdictError]);
}

void WorkerMetrics::plugin_event(std::string_view plugin, std::string_view event, std::uint64_t n) {
    auto it = events_.find(plugin);
    if (it == events_.end()) it = events_.emplace(std::string(plugin), PluginEvents{registry_->plugin_slot(plugin), {}}).first;
    PluginEvents& pe = it->second;
    auto known = std::find_if(pe.events.begin(), pe.events.end(), [&](const auto& e) { return e.first == event; });
    unsigned index = known != pe.events.end() ? known->second : kMaxPluginEvents + 1;
    if (index > kMaxPluginEvents) {
        index = registry_->event_slot(pe.slot, event);
        // Names past the plugin's share all count as "_other"; they are looked up each time
        // rather than kept, so a plugin that invents names cannot grow this map.
        if (index < kMaxPluginEvents) pe.events.emplace_back(std::string(event), index);
    }
    metric_add(c_.plugin_events[pe.slot][index], n);
}

void WorkerMetrics::publish(const io::ResolverStats& dns, std::uint64_t children_spawned) {
    auto delta = [](std::uint64_t& word, std::uint64_t now, std::uint64_t& seen) {
        if (now > seen) metric_add(word, now - seen);
        seen = now;
    };
    delta(c_.dns_lookups, dns.lookups, dns_seen_.lookups);
    delta(c_.dns_cache_hits, dns.cache_hits, dns_seen_.cache_hits);
    delta(c_.dns_coalesced, dns.coalesced, dns_seen_.coalesced);
    delta(c_.dns_sent, dns.sent, dns_seen_.sent);
    delta(c_.dns_deadlines, dns.deadlines, dns_seen_.deadlines);
    delta(c_.children_spawned, children_spawned, children_seen_);
}

}  // namespace asmtpd::smtp
