// metrics.hpp - the instance's metrics registry (asmtpd.yaml `metrics:`), shared by every
// worker process and read by whoever serves GET /metrics (metrics_server.hpp).
//
// One shared anonymous mapping made before the workers fork (like the ConnectionTable): a
// header (start time, supervisor counts, the plugin names table) and one WorkerCounters block
// per worker. A worker is the only writer of its block: an increment is a relaxed load and
// store of an aligned 64-bit word, no lock and no read-modify-write on the hot path. The
// reader sums the blocks word by word with relaxed loads. A restarted worker takes over its
// predecessor's block and keeps counting, so a counter of the instance never goes backwards;
// the supervisor zeroes only the gauges of a dead worker (worker_gone).
// Plugins get a label each: their instance names go into a fixed table of kMaxPlugins names
// (under a process-shared robust mutex, at configuration load only); a name keeps its slot
// for the life of the instance (a reload that drops a plugin keeps its series, a new plugin
// gets the next free slot), and plugins past the table are counted as plugin="_other".
// For the control socket (control_server.hpp) the mapping also keeps the running plugin list in
// config order (slots, written at each configuration load) and each worker's last reload error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/io/resolver.hpp"
#include "hooks/chain.hpp"
#include "hooks/hook.hpp"
#include "hooks/registry.hpp"

namespace asmtpd::smtp {

// Latency histogram bounds, seconds (the +Inf bucket is the count).
inline constexpr std::array<double, 14> kLatencyBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,   5,     10};
inline constexpr std::size_t kLatencyBuckets = kLatencyBounds.size();

// Why a connection was refused before its session began (Server::on_connection).
enum class Refusal : std::uint8_t { MaxConnections, MaxConnectionsPerIp, Access, ShuttingDown, Count_ };
// How a session ended (session_outcome() maps Session::close_session's reason).
enum class SessionOutcome : std::uint8_t { Quit, ClientClosed, Timeout, Refused, Denied, TooManyErrors, Shutdown,
                                           Tls, ProtocolError, Count_ };
// What the queue chain did with a message.
enum class QueueOutcome : std::uint8_t { Queued, Deferred, Rejected, Count_ };
// A hook's or plugin's answer: the seven results (hooks::Result order), then timeout and error.
inline constexpr std::size_t kVerdictKinds = 9;
inline constexpr std::size_t kVerdictTimeout = 7;
inline constexpr std::size_t kVerdictError = 8;

std::string_view refusal_name(Refusal r);
std::string_view session_outcome_name(SessionOutcome o);
std::string_view queue_outcome_name(QueueOutcome o);
std::string_view verdict_kind_name(std::size_t kind);   // "declined", "ok", ..., "timeout", "error"
// close_session's reason ("quit", "command timeout", "denied: 550 ...") as an outcome.
SessionOutcome session_outcome(std::string_view why);

struct LatencyHistogram {
    std::uint64_t buckets[kLatencyBuckets];   // observations in (bound[i-1], bound[i]]
    std::uint64_t count;
    std::uint64_t sum_ns;
};

inline constexpr unsigned kMaxMetricPlugins = 64;   // named plugin slots; one more is "_other"
inline constexpr unsigned kMaxPluginEvents = 16;    // event names a plugin may count; one more is "_other"
inline constexpr std::size_t kMaxPluginOrder = 128;  // plugins of the running list kept in order
inline constexpr std::size_t kReloadErrorBytes = 2048;

// One worker's block. Only std::uint64_t members (summed word by word).
struct WorkerCounters {
    std::uint64_t connections_accepted;
    std::uint64_t connections_refused[static_cast<std::size_t>(Refusal::Count_)];
    std::uint64_t sessions[static_cast<std::size_t>(SessionOutcome::Count_)];
    std::uint64_t replies[4];                  // 2xx, 3xx, 4xx, 5xx
    std::uint64_t bytes_received;
    std::uint64_t queue[static_cast<std::size_t>(QueueOutcome::Count_)];
    std::uint64_t children_spawned;
    std::uint64_t dns_lookups, dns_cache_hits, dns_coalesced, dns_sent, dns_deadlines;
    std::uint64_t reloads_ok, reloads_failed;
    std::uint64_t open_sessions;               // gauge
    std::uint64_t up;                          // gauge: 1 while the worker runs
    std::uint64_t generation;                  // gauge: configurations this process loaded (1 + reloads); max, not summed
    LatencyHistogram hook_latency[hooks::kHookCount];
    std::uint64_t hook_verdicts[hooks::kHookCount][kVerdictKinds];
    LatencyHistogram plugin_latency[kMaxMetricPlugins + 1];
    std::uint64_t plugin_verdicts[kMaxMetricPlugins + 1][hooks::kHookCount][kVerdictKinds];
    std::uint64_t plugin_events[kMaxMetricPlugins + 1][kMaxPluginEvents + 1];   // Context::count
};
static_assert(sizeof(WorkerCounters) % sizeof(std::uint64_t) == 0);

class MetricsRegistry {
public:
    // Shared with the processes forked after it; null with a reason when mmap or the mutex fails.
    static std::shared_ptr<MetricsRegistry> create(unsigned workers, std::string& error);
    ~MetricsRegistry();
    MetricsRegistry(const MetricsRegistry&) = delete;
    MetricsRegistry& operator=(const MetricsRegistry&) = delete;

    unsigned workers() const { return workers_; }
    WorkerCounters& worker(unsigned index) const;
    // The slot of a plugin instance name (added when new); kMaxMetricPlugins ("_other") when full.
    unsigned plugin_slot(std::string_view name);
    // Names by slot (the table as it is now).
    std::vector<std::string> plugin_names() const;
    // The index of one of a plugin slot's event names (added when new, as plugin names are);
    // kMaxPluginEvents ("_other") when the plugin has used all of its names.
    unsigned event_slot(unsigned plugin_slot, std::string_view event);
    std::vector<std::string> event_names(unsigned plugin_slot) const;
    // The running configuration's plugins in config order, as slots (kMaxMetricPlugins: "_other").
    void set_plugin_order(const std::vector<unsigned>& slots);
    std::vector<unsigned> plugin_order() const;
    // Why worker `index`'s last reload failed (cut to kReloadErrorBytes - 1).
    void set_reload_error(unsigned index, std::string_view text);
    std::string reload_error(unsigned index) const;
    // The supervisor, after worker `index` exited: its gauges go back to 0.
    void worker_gone(unsigned index);
    // All blocks summed (generation: the highest), with relaxed loads. On the heap: it is big.
    std::unique_ptr<WorkerCounters> sum() const;
    std::uint64_t worker_exits() const;
    double start_time() const;   // Unix seconds, when create() ran

    // Text exposition of everything (metrics_render.cpp).
    std::string render() const;

private:
    struct Token {};

public:
    MetricsRegistry(Token, void* base, std::size_t size, unsigned workers);

private:
    struct Header;
    Header& header() const;
    void* base_;
    std::size_t size_;
    unsigned workers_;
};

// Relaxed single-writer increment of a shared word.
void metric_add(std::uint64_t& word, std::uint64_t n = 1);
void metric_set(std::uint64_t& word, std::uint64_t v);
std::uint64_t metric_load(const std::uint64_t& word);
void observe_latency(LatencyHistogram& h, std::uint64_t ns);

// One worker's view: where its counts go. Cheap calls for the loop thread.
class WorkerMetrics final : public hooks::ChainObserver {
public:
    WorkerMetrics(std::shared_ptr<MetricsRegistry> registry, unsigned worker);
    ~WorkerMetrics() override;

    // A configuration was loaded (start-up or reload): its plugins get their slots.
    void configuration_loaded(const hooks::Registry& plugins);
    // `why` (the errors, one a line) is kept for the control socket before the count is raised.
    void reload_failed(std::string_view why = {});

    void connection_accepted() { metric_add(c_.connections_accepted); }
    void connection_refused(Refusal r) { metric_add(c_.connections_refused[static_cast<std::size_t>(r)]); }
    void session_opened() { metric_add(c_.open_sessions); }
    void session_closed(SessionOutcome o);
    void reply(int code);
    void bytes_received(std::size_t n) { metric_add(c_.bytes_received, n); }
    void hook_done(hooks::Hook h, hooks::Result r, std::uint64_t ns);
    void queue_outcome(QueueOutcome o) { metric_add(c_.queue[static_cast<std::size_t>(o)]); }
    // Counters kept elsewhere in the process (they start from 0 in a restarted worker): the
    // difference since the last call is added.
    void publish(const io::ResolverStats& dns, std::uint64_t children_spawned);
    // Context::count: `n` events named `event` of the plugin instance named `plugin`.
    void plugin_event(std::string_view plugin, std::string_view event, std::uint64_t n);

    // hooks::ChainObserver
    void plugin_answered(hooks::Hook hook, const hooks::Plugin& plugin, Answer answer, hooks::Result result,
                         std::uint64_t ns) override;

private:
    std::shared_ptr<MetricsRegistry> registry_;
    WorkerCounters& c_;
    unsigned index_;
    std::unordered_map<const hooks::Plugin*, unsigned> slots_;
    struct PluginEvents {
        unsigned slot = kMaxMetricPlugins;
        std::vector<std::pair<std::string, unsigned>> events;   // name -> index, as the registry gave it
    };
    std::map<std::string, PluginEvents, std::less<>> events_;   // by plugin name: no lock to count
    io::ResolverStats dns_seen_{};
    std::uint64_t children_seen_ = 0;
    bool loaded_ = false;            // a configuration was loaded in this process already
};

}  // namespace asmtpd::smtp
