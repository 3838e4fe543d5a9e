// redis_store.hpp - the state store on a Redis server: hiredis's asynchronous API attached to
// the worker's libuv loop (hiredis/adapters/libuv.h), one connection per worker loop.
//
// A batch is one pipelined round trip: every op is one command or a few. GET, SET PX, DEL; a
// counter is INCRBY and, for a new one's expiry, PEXPIRE NX (a server older than Redis 7 has no
// PEXPIRE NX: each connection asks once, and there, and until the answer, a counter is a short
// script by EVALSHA; NOSCRIPT, from a restarted or flushed server, sends it again as EVAL); a
// sliding window is core/proto/rate_window's buckets as the fields of a hash: HINCRBY and
// PEXPIRE to add an event, HGETALL to count, worked out here on the server's clock (read by
// TIME at connect and every minute), so every instance counts the same window; fields that no
// longer count are deleted by an HDEL nobody waits for. hiredis queues the commands of a
// batch in its output buffer and writes them together when the socket is writable.
// Connection: made on the first batch; when it fails or drops, batches fail at once
// (Unavailable) until the backoff (100 ms, doubling to 5 s) has passed, then the next batch
// reconnects. A batch past its deadline gets Timeout and drops the connection (what is behind
// it in the pipeline would be late too); the next batch reconnects.
// Must never: block (hiredis's connect is non-blocking, the address is an IP literal); call a
// callback inside run(); touch the hiredis context after its disconnect callback.
#pragma once

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/state_store.hpp"
#include "core/io/timer.hpp"

struct redisAsyncContext;
struct redisReply;

namespace asmtpd::io {

class RedisStore final : public StateStore {
public:
    RedisStore(uv_loop_t* loop, StateOptions o);
    ~RedisStore() override;
    RedisStore(const RedisStore&) = delete;
    RedisStore& operator=(const RedisStore&) = delete;

    using StateStore::run;
    void run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done, std::size_t requests) override;
    const char* backend() const override { return "redis"; }
    uv_loop_t* loop() const override { return loop_; }
    const StateStats& stats() const override { return stats_; }
    bool connected() const { return connected_; }

    struct Batch;

private:
    static constexpr std::size_t kNoReply = static_cast<std::size_t>(-1);
    // One command sent and not yet answered. hiredis answers in the order of sending, so these
    // form a FIFO: the front is the next reply's.
    struct Sent {
        enum class Kind : std::uint8_t {
            Value,    // the op's reply (or, with index kNoReply, only counted: a helper command)
            Window,   // HGETALL of a sliding window: the count is worked out from it
            Probe,    // the connection's PEXPIRE NX probe (no batch)
            Clock,    // TIME (no batch)
        };
        std::uint64_t id = 0;                // hiredis's privdata: checks the order
        std::shared_ptr<Batch> batch;        // null: no batch waits for it
        std::size_t index = 0;               // the op's place in its batch; kNoReply: a helper command
        Kind kind = Kind::Value;
        int script = -1;                     // which script, when retry is set
        std::vector<std::string> retry;      // a script's EVALSHA, sent as EVAL on NOSCRIPT
        std::uint64_t window_ms = 0, now_ms = 0;   // Window: the window, and the clock it was read at
        std::string key;                     // Window: the hash, for the clean-up of old fields
    };

    bool connect(std::string& error);
    void probe_expire_nx();
    void sync_clock();                       // sends TIME when the offset is due for a refresh
    std::uint64_t server_now_ms() const;     // our clock plus the offset to the server's
    void on_clock(const redisReply* r);
    std::int64_t window_count(const Sent& sent, const redisReply* r);
    // Sends one command of b (null: the probe) and counts it in b's replies to wait for;
    // nullptr when the connection is closing.
    Sent* send(const std::shared_ptr<Batch>& b, std::size_t index, std::initializer_list<std::string_view> args);
    Sent* send(const std::shared_ptr<Batch>& b, std::size_t index, const std::vector<std::string>& args);
    // A script's EVALSHA (or EVAL), kept to be sent again as EVAL on NOSCRIPT.
    Sent* send_script(const std::shared_ptr<Batch>& b, std::size_t index, int script, std::vector<std::string> args);
    Sent* queue(const std::shared_ptr<Batch>& b, std::size_t index);   // request_ is formatted
    void on_reply(std::uint64_t id, void* reply);
    void on_connect(int status);
    void on_disconnect(int status);
    void lost(std::string why);          // the connection is gone: start the backoff
    void drop_connection();
    void fail_sent(const std::string& why);   // answers every batch still waiting: Unavailable
    // One timer for every batch's deadline, armed for the earliest it knows of.
    void arm_deadline(std::uint64_t at);
    void check_deadlines();

    static void reply_cb(redisAsyncContext* ac, void* reply, void* priv);
    static void connect_cb(const redisAsyncContext* ac, int status);
    static void disconnect_cb(const redisAsyncContext* ac, int status);

    uv_loop_t* loop_;
    StateOptions options_;
    redisAsyncContext* ctx_ = nullptr;   // owned by hiredis once attached; null when not connected
    bool connected_ = false;
    bool expire_nx_ = false;             // the server takes PEXPIRE ... NX (Redis 7): counters need no script
    std::int64_t clock_offset_ms_ = 0;   // the server's clock minus ours
    std::uint64_t next_clock_sync_ = 0;  // loop ms
    std::uint64_t backoff_ms_ = 0;
    std::uint64_t retry_at_ = 0;         // loop ms before which no reconnect is tried
    std::string last_error_;
    std::uint64_t next_id_ = 1;
    std::vector<std::string> script_sha_;   // EVALSHA's names of the scripts (redis_store.cpp)
    std::deque<Sent> sent_;
    Timer deadline_timer_;
    std::uint64_t deadline_at_ = 0;      // loop ms the timer fires at; 0: not armed
    std::string request_;                // scratch: one formatted request
    std::string key_;                    // scratch: the prefixed key
    StateStats stats_;
};

}  // namespace asmtpd::io
