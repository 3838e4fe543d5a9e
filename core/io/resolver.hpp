// resolver.hpp - asynchronous DNS for one event loop: c-ares on libuv (ares_channel.hpp), a
// TTL cache (dns_cache.hpp), one query on the wire per identical question in flight, a cap on
// queries in flight, and a deadline per caller. Results are values (proto::DnsResult: answer,
// NXDOMAIN, no data, SERVFAIL, timeout); nothing throws and nothing blocks.
//
// Rules: query() never calls back inside itself; the callback runs at most once, from a loop
// callback, and never after its DnsQuery handle is destroyed. Each caller gets its answer by
// its own deadline (then status timeout) while the question may still run on for others and
// fill the cache. A name that cannot be a DNS name (empty label, over 253 octets, spaces or
// control bytes, a backslash) is answered NXDOMAIN without a query. Sessions use DnsScope, which
// owns the handles and drops every callback when the session ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <uv.h>

#include "core/io/ares_channel.hpp"
#include "core/io/dns_cache.hpp"
#include "core/io/timer.hpp"
#include "core/proto/dns_message.hpp"

namespace asmtpd::io {

struct ResolverOptions {
    std::vector<std::string> servers;   // dns_server_item() input forms; empty: /etc/resolv.conf
    std::uint32_t timeout_ms = 5000;    // per attempt (asmtpd.yaml dns.timeout)
    int attempts = 2;                   // dns.attempts
    std::size_t cache_entries = 10000;  // dns.cache_entries; 0 disables the cache
    std::size_t max_in_flight = 1000;   // questions on the wire at once; more wait in FIFO order
};

struct ResolverStats {
    std::uint64_t lookups = 0;      // query() calls
    std::uint64_t cache_hits = 0;   // answered from the cache
    std::uint64_t coalesced = 0;    // joined an identical question already in flight
    std::uint64_t sent = 0;         // questions handed to c-ares
    std::uint64_t deadlines = 0;    // callers answered "timeout" by their own deadline
};

using DnsCallback = std::function<void(const proto::DnsResult&)>;

// The caller's side of one lookup: destroying it drops the callback (cancellation).
class DnsQuery {
public:
    struct Waiter;
    explicit DnsQuery(std::shared_ptr<Waiter> w) : waiter_(std::move(w)) {}
    ~DnsQuery();
    DnsQuery(const DnsQuery&) = delete;
    DnsQuery& operator=(const DnsQuery&) = delete;

private:
    std::shared_ptr<Waiter> waiter_;
};

class Resolver {
public:
    // Null with error set when the options are refused (a server that is no IP[:port]).
    static std::unique_ptr<Resolver> create(uv_loop_t* loop, const ResolverOptions& options, std::string& error);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    // deadline_ms: the caller's budget (0: only c-ares' own timeout/attempts bound it).
    [[nodiscard]] std::unique_ptr<DnsQuery> query(std::string_view name, proto::DnsType type,
                                                  std::uint64_t deadline_ms, DnsCallback cb);

    // The cached result for (name, type), now, without a query or a callback: the fast path for
    // callers that can use an answer synchronously (counted as a lookup and a cache hit).
    std::optional<proto::DnsResult> cached(std::string_view name, proto::DnsType type);

    const ResolverStats& stats() const { return stats_; }
    std::size_t in_flight() const { return in_flight_; }
    std::size_t cached() const { return cache_.size(); }

    struct Pending;   // one question in flight (public for the c-ares callback only)

private:
    Resolver(uv_loop_t* loop, const ResolverOptions& options, std::string& error);
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    void send(Pending& p);
    void finish(Pending& p, const proto::DnsResult& r);
    void send_queued();
    void post(std::shared_ptr<DnsQuery::Waiter> w, proto::DnsResult r);
    void run_posted();

    uv_loop_t* loop_;
    ResolverOptions options_;
    std::unique_ptr<AresChannel> channel_;   // reset first in the destructor (see there)
    DnsCache cache_;
    ResolverStats stats_;
    std::unordered_map<std::string, std::unique_ptr<Pending>> pending_;   // by DnsCache::key
    std::deque<std::string> queued_;                                     // keys over the cap
    std::size_t in_flight_ = 0;
    bool submitting_ = false;   // inside ares_query: answers must be posted, not delivered
    bool destroying_ = false;
    std::vector<std::pair<std::shared_ptr<DnsQuery::Waiter>, proto::DnsResult>> posted_;
    Timer post_timer_;
};

// The lookups of one session: query() keeps the handle, the destructor drops every callback
// still pending (the session ended). The callback may destroy the scope.
class DnsScope {
public:
    explicit DnsScope(Resolver& r) : resolver_(r) {}
    DnsScope(const DnsScope&) = delete;
    DnsScope& operator=(const DnsScope&) = delete;

    void query(std::string_view name, proto::DnsType type, std::uint64_t deadline_ms, DnsCallback cb);
    std::size_t pending() const { return live_.size(); }
    Resolver& resolver() { return resolver_; }

private:
    Resolver& resolver_;
    std::unordered_map<std::uint64_t, std::unique_ptr<DnsQuery>> live_;
    std::uint64_t next_ = 0;
};

}  // namespace asmtpd::io
