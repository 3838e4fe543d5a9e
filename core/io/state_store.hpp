// state_store.hpp - the shared state plugins keep between sessions (greylisting triplets,
// counters, rate windows): one interface, two backends.
//
//   embedded (default)  LMDB file (core/io/lmdb_store): no server, survives a restart, shared by
//                       every worker process of one instance; transactions run on the pool.
//   redis               hiredis's asynchronous API on the worker's loop (core/io/redis_store):
//                       shared by every instance that names the same server; one pipelined
//                       round trip per batch, reconnect with backoff, key prefix.
//
// A plugin sends a batch of ops in one run() call (one round trip, one transaction; its
// session's StateScope merges the batches of one loop iteration, and the embedded store runs
// every session's batches of one iteration in one transaction) and gets one StateResult
// back: a reply per op, or a status that says the store could not answer (unavailable, or past
// the deadline). Failures are values: every plugin documents what it
// does when the store does not answer (its fail mode).
//
// Rules: the callback runs once, from the loop, never inside run(). Times to live are in
// milliseconds of wall-clock time (they survive a restart); 0 means no expiry. One store per
// worker loop (the Server owns it); a session reaches it through StateScope (Context::state()),
// whose destructor drops the callbacks still pending, as DnsScope does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "core/io/timer.hpp"

namespace asmtpd::io {

enum class StateStatus { Ok, Unavailable, Timeout };
const char* state_status_name(StateStatus s);

// One operation of a batch. Build them with the named constructors.
struct StateOp {
    enum class Kind { Get, Set, Del, Incr, WindowAdd, WindowCount };
    Kind kind = Kind::Get;
    std::string key;           // without the store's prefix
    std::string value;         // Set
    std::int64_t by = 1;       // Incr
    std::uint64_t ttl_ms = 0;  // Set: expiry; Incr: expiry given to a counter that has none;
                               // WindowAdd / WindowCount: the window's length

    static StateOp get(std::string key) { return {Kind::Get, std::move(key), {}, 0, 0}; }
    static StateOp set(std::string key, std::string value, std::uint64_t ttl_ms) {
        return {Kind::Set, std::move(key), std::move(value), 0, ttl_ms};
    }
    static StateOp del(std::string key) { return {Kind::Del, std::move(key), {}, 0, 0}; }
    // Adds `by` to the counter (created at 0); a new counter expires ttl_ms later (fixed window).
    static StateOp incr(std::string key, std::int64_t by, std::uint64_t ttl_ms) {
        return {Kind::Incr, std::move(key), {}, by, ttl_ms};
    }
    // Records one event now and counts the events of the last window_ms (the new one included).
    static StateOp window_add(std::string key, std::uint64_t window_ms) {
        return {Kind::WindowAdd, std::move(key), {}, 0, window_ms};
    }
    // Counts the events of the last window_ms without recording one.
    static StateOp window_count(std::string key, std::uint64_t window_ms) {
        return {Kind::WindowCount, std::move(key), {}, 0, window_ms};
    }
};

struct StateReply {
    bool found = false;        // Get: the key exists and has not expired
    std::string value;         // Get
    std::int64_t number = 0;   // Incr: the new value; WindowAdd / WindowCount: events in the window
};

struct StateResult {
    StateStatus status = StateStatus::Ok;
    std::string error;                 // why, when status is not Ok
    std::vector<StateReply> replies;   // one per op, in order, when status is Ok
    bool ok() const { return status == StateStatus::Ok; }
};

using StateCallback = std::function<void(StateResult)>;

// What one store counted since it was made (logged when the Server stops; read by tests).
struct StateStats {
    std::uint64_t batches = 0;        // callers' batches (a StateScope may merge several in one run())
    std::uint64_t ops = 0;
    std::uint64_t round_trips = 0;    // run() calls answered: Redis pipelined writes; embedded: transactions
    std::uint64_t failures = 0;       // batches answered Unavailable
    std::uint64_t timeouts = 0;       // batches answered Timeout
};

class StateStore {
public:
    virtual ~StateStore() = default;
    // Runs ops as one batch. `done` (may be empty: fire and forget) runs once from the loop;
    // at deadline_ms (capped by the store's own timeout; 0 = that timeout) it gets Timeout.
    // `requests`: how many callers' batches this one merges (StateScope), for stats().batches.
    virtual void run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done,
                     std::size_t requests) = 0;
    void run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done) {
        run(std::move(ops), deadline_ms, std::move(done), 1);
    }
    virtual const char* backend() const = 0;   // "embedded" or "redis"
    virtual uv_loop_t* loop() const = 0;
    virtual const StateStats& stats() const = 0;
};

// asmtpd.yaml `state:` (core/smtp/settings), ready for the factory.
struct StateOptions {
    enum class Backend { Embedded, Redis };
    Backend backend = Backend::Embedded;
    std::string path;                      // embedded: the LMDB file (its lock file is PATH-lock)
    std::uint64_t map_size = 256ull << 20; // embedded: the most the file may grow to
    std::string host = "127.0.0.1";        // redis
    unsigned port = 6379;
    std::string prefix = "asmtpd:";        // redis: in front of every key
    std::uint64_t timeout_ms = 1000;       // longest any batch may take
};

// The backend `o` names, on `loop`. Nothing is opened or connected until the first run().
std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const StateOptions& o);

// The batches of one session. It merges them: what the session asks for in one loop iteration
// goes to the store as one batch (one round trip, one transaction).
// - run() with a callback sends at once, together with everything held.
// - run() without one (fire and forget) and prefetch() are held until the session's next sent
//   batch, a claim() of a held prefetch, or the next loop iteration, whichever comes first.
// - prefetch(tag) starts a batch whose answer a later hook takes with claim(tag): a plugin asks
//   in an early hook (pre_connection, rcpt_pre) so that its batch and the next plugin's share a
//   round trip. At most kMaxPrefetches unclaimed ones are kept (the oldest goes first).
// The destructor sends what is still held (writes happen) and drops every callback still
// pending (the session ended), as DnsScope does; a callback may therefore touch the session.
class StateScope {
public:
    explicit StateScope(StateStore& s);
    ~StateScope();
    StateScope(const StateScope&) = delete;
    StateScope& operator=(const StateScope&) = delete;

    void run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done);
    void prefetch(std::string tag, std::vector<StateOp> ops, std::uint64_t deadline_ms);
    // The answer of prefetch(tag): `done` runs once, when it arrives, or inside this call when it
    // is already here. False (and `done` never runs): no such prefetch, or it was claimed.
    bool claim(std::string_view tag, StateCallback done);
    StateStore& store() { return store_; }

    static constexpr std::size_t kMaxPrefetches = 8;

private:
    struct Request {
        std::vector<StateOp> ops;
        std::uint64_t deadline_ms = 0;
        StateCallback done;
    };
    struct Prefetch;
    void hold(Request r);
    void send();   // everything held, as one store batch

    StateStore& store_;
    std::vector<Request> held_;
    std::vector<std::shared_ptr<Prefetch>> prefetches_;
    std::unique_ptr<Timer> flush_;   // sends what is held at the next loop iteration
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace asmtpd::io
