// redis_store.hpp - the state store on a Redis server: hiredis's asynchronous API attached to
// the worker's libuv loop (hiredis/adapters/libuv.h), one connection per worker loop.
//
// A batch is one pipelined round trip: every op is one command or two (GET, SET PX, DEL; a
// counter is INCRBY and, for a new one's expiry, PEXPIRE NX; a sliding window is a short script,
// which runs atomically on the server and uses the server's clock, so every instance counts the
// same window). A server older than Redis 7 has no PEXPIRE NX: each connection asks once, and
// there (and until the answer) counters go by a script too. Scripts go by EVALSHA; a NOSCRIPT
// answer (a restarted or flushed server) sends that command again as EVAL, which loads it. hiredis queues the commands of a
// batch in its output buffer and writes them together when the socket is writable.
// Connection: made on the first batch; when it fails or drops, batches fail at once
// (Unavailable) until the backoff (100 ms, doubling to 5 s) has passed, then the next batch
// reconnects. A batch past its deadline gets Timeout and drops the connection (what is behind
// it in the pipeline would be late too); the next batch reconnects.
// Must never: block (hiredis's connect is non-blocking, the address is an IP literal); call a
// callback inside run(); touch the hiredis context after its disconnect callback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io/state_store.hpp"

struct redisAsyncContext;

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
    bool connect(std::string& error);
    bool command(std::uint64_t id, const std::vector<std::string>& argv);   // false: closing
    std::string request_;   // scratch: one formatted request
    void on_reply(std::uint64_t id, void* reply);
    void on_connect(int status);
    void on_disconnect(int status);
    void lost(std::string why);          // the connection is gone: start the backoff
    void drop_connection();

    static void reply_cb(redisAsyncContext* ac, void* reply, void* priv);
    static void connect_cb(const redisAsyncContext* ac, int status);
    static void disconnect_cb(const redisAsyncContext* ac, int status);

    uv_loop_t* loop_;
    StateOptions options_;
    redisAsyncContext* ctx_ = nullptr;   // owned by hiredis once attached; null when not connected
    bool connected_ = false;
    std::uint64_t backoff_ms_ = 0;
    std::uint64_t retry_at_ = 0;         // loop ms before which no reconnect is tried
    std::string last_error_;
    std::uint64_t next_id_ = 1;
    std::vector<std::string> script_sha_;   // EVALSHA's names of the scripts (redis_store.cpp)
    bool expire_nx_ = false;   // the server takes PEXPIRE ... NX (Redis 7): counters need no script
    void probe_expire_nx();
    static constexpr std::size_t kNoReply = static_cast<std::size_t>(-1);
    struct Waiting {
        std::shared_ptr<Batch> batch;        // null: the connection's PEXPIRE NX probe
        std::size_t index = 0;               // the op's place in its batch; kNoReply: a helper command
        int script = 0;                      // which script, when retry is set
        std::vector<std::string> retry;      // a script's EVALSHA, sent as EVAL on NOSCRIPT
    };
    std::unordered_map<std::uint64_t, Waiting> waiting_;
    // Sends one command of b (null: the probe); counts it in b's replies to wait for.
    Waiting* send(const std::shared_ptr<Batch>& b, std::size_t index, const std::vector<std::string>& argv);
    StateStats stats_;
};

}  // namespace asmtpd::io
