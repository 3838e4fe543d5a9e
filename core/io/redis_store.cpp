// redis_store.cpp - hiredis on the worker loop; see redis_store.hpp.
//
// Ownership: waiting_ holds, per command sent, its batch and the op's index; hiredis gets only
// the command's id as privdata (nothing to free when it drops a callback). A batch answers once:
// when its last reply arrives, at its first failed reply, or at its deadline.
#include "core/io/redis_store.hpp"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include "core/io/timer.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/rate_window.hpp"

namespace asmtpd::io {

namespace {

constexpr std::uint64_t kFirstBackoffMs = 100;
constexpr std::uint64_t kMaxBackoffMs = 5000;

// Counters on a server without PEXPIRE NX (before Redis 7): INCRBY, and an expiry for a
// counter that has none (a new one).
constexpr const char* kIncrScript =
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return v";
enum Script { kIncr, kScripts };
constexpr const char* kScriptText[kScripts] = {kIncrScript};
constexpr std::uint64_t kClockSyncMs = 60000;   // how often the server's clock is read again

std::string sha1_hex(std::string_view text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 15]);
    }
    return out;
}

}  // namespace

struct RedisStore::Batch {
    StateCallback done;
    std::vector<StateReply> replies;
    std::size_t remaining = 0;      // commands sent and not yet answered
    std::uint64_t deadline = 0;     // loop ms
    std::unique_ptr<Timer> post;    // an answer that cannot wait for Redis, posted to the loop
    bool answered = false;

    void answer(StateResult r) {
        if (answered) return;
        answered = true;
        if (r.ok()) r.replies = std::move(replies);
        if (done) done(std::move(r));
    }
};

RedisStore::RedisStore(uv_loop_t* loop, StateOptions o) : loop_(loop), options_(std::move(o)), deadline_timer_(loop) {
    for (int i = 0; i < kScripts; ++i) script_sha_.push_back(sha1_hex(kScriptText[i]));
}

RedisStore::~RedisStore() {
    sent_.clear();
    if (ctx_) {
        ctx_->data = nullptr;   // callbacks hiredis runs while freeing find no store
        redisAsyncFree(ctx_);
        ctx_ = nullptr;
    }
}

bool RedisStore::connect(std::string& error) {
    if (uv_now(loop_) < retry_at_) {
        error = "redis " + options_.host + ":" + std::to_string(options_.port) + " unavailable (" + last_error_ +
                "); next try in " + std::to_string(retry_at_ - uv_now(loop_)) + " ms";
        return false;
    }
    // hiredis fails a lost connection's commands before it lets go of it; should any be left,
    // they must not wait for the new connection's replies.
    fail_sent("redis: connection lost (" + last_error_ + ")");
    redisAsyncContext* ac = redisAsyncConnect(options_.host.c_str(), static_cast<int>(options_.port));
    if (!ac || ac->err) {
        std::string why = ac ? ac->errstr : "out of memory";
        if (ac) redisAsyncFree(ac);
        lost(why);
        error = "redis " + options_.host + ":" + std::to_string(options_.port) + ": " + why;
        return false;
    }
    ac->data = this;
    if (redisLibuvAttach(ac, loop_) != REDIS_OK) {
        redisAsyncFree(ac);
        lost("cannot attach to the loop");
        error = "redis: cannot attach to the loop";
        return false;
    }
    redisAsyncSetConnectCallback(ac, &RedisStore::connect_cb);
    redisAsyncSetDisconnectCallback(ac, &RedisStore::disconnect_cb);
    ctx_ = ac;
    probe_expire_nx();
    next_clock_sync_ = 0;
    sync_clock();
    return true;
}

void RedisStore::run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done, std::size_t requests) {
    auto b = std::make_shared<Batch>();
    b->done = std::move(done);
    b->replies.resize(ops.size());
    stats_.batches += requests;
    stats_.ops += ops.size();

    std::string error;
    if (ops.empty() || (!ctx_ && !connect(error))) {
        // Answered from the loop, never inside run(): the timer keeps the batch until it fires.
        if (!ops.empty()) stats_.failures++;
        b->post = std::make_unique<Timer>(loop_);
        b->post->start(0, [b, error] {
            auto keep = b;   // the timer is the batch's: it goes when the batch does
            keep->answer(error.empty() ? StateResult{} : StateResult{StateStatus::Unavailable, error, {}});
        });
        return;
    }
    const std::uint64_t limit = deadline_ms == 0 ? options_.timeout_ms : std::min(deadline_ms, options_.timeout_ms);
    b->deadline = uv_now(loop_) + limit;

    sync_clock();
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const StateOp& op = ops[i];
        key_.assign(options_.prefix).append(op.key);
        Sent* sent = nullptr;
        switch (op.kind) {
        case StateOp::Kind::Get: sent = send(b, i, {"GET", key_}); break;
        case StateOp::Kind::Set:
            sent = op.ttl_ms ? send(b, i, {"SET", key_, op.value, "PX", std::to_string(op.ttl_ms)})
                             : send(b, i, {"SET", key_, op.value});
            break;
        case StateOp::Kind::Del: sent = send(b, i, {"DEL", key_}); break;
        case StateOp::Kind::Incr:
            if (op.ttl_ms == 0 || expire_nx_) {
                sent = send(b, i, {"INCRBY", key_, std::to_string(op.by)});
                // After INCRBY, PEXPIRE NX gives an expiry only to a counter that has none (a new
                // one). No interleaving leaves a counter without one: had it expired in between,
                // there is nothing left to expire. Its reply counts only as an error.
                if (sent && op.ttl_ms) sent = send(b, kNoReply, {"PEXPIRE", key_, std::to_string(op.ttl_ms), "NX"});
                break;
            }
            sent = send_script(b, i, kIncr, {"EVALSHA", script_sha_[kIncr], "1", key_, std::to_string(op.by),
                                             std::to_string(op.ttl_ms)});
            break;
        case StateOp::Kind::WindowAdd:
        case StateOp::Kind::WindowCount: {
            // core/proto/rate_window's buckets as hash fields: the event goes in by HINCRBY, the
            // count is worked out here from HGETALL (a script did both: 30 us of server CPU).
            const std::uint64_t window = std::max<std::uint64_t>(op.ttl_ms, 1);
            const std::uint64_t width = proto::rate_bucket_ms(window), now = server_now_ms();
            bool added = true;
            if (op.kind == StateOp::Kind::WindowAdd)
                added = send(b, kNoReply, {"HINCRBY", key_, proto::rate_field_name(now / width, width), "1"}) &&
                        send(b, kNoReply, {"PEXPIRE", key_, std::to_string(window + width)});
            if (added && (sent = send(b, i, {"HGETALL", key_}))) {
                sent->kind = Sent::Kind::Window;
                sent->window_ms = window;
                sent->now_ms = now;
                sent->key = key_;
            }
            break;
        }
        }
        if (!sent) {
            stats_.failures++;
            b->answer({StateStatus::Unavailable, "redis: the connection is closing", {}});
            return;
        }
    }
    arm_deadline(b->deadline);
}

// The RESP request built here and handed over formatted: hiredis's own formatting
// (redisFormatSdsCommandArgv, printf-style sds appends) cost more than the rest of a batch on
// the loop (bench load (m)).
namespace {
template <typename Args>
void format_request(std::string& req, const Args& args) {
    req.clear();
    req += '*';
    req += std::to_string(args.size());
    req += "\r\n";
    for (const auto& a : args) {
        req += '$';
        req += std::to_string(std::string_view(a).size());
        req += "\r\n";
        req += a;
        req += "\r\n";
    }
}
}  // namespace

RedisStore::Sent* RedisStore::send(const std::shared_ptr<Batch>& b, std::size_t index,
                                   std::initializer_list<std::string_view> args) {
    format_request(request_, args);
    return queue(b, index);
}

RedisStore::Sent* RedisStore::send(const std::shared_ptr<Batch>& b, std::size_t index,
                                   const std::vector<std::string>& args) {
    format_request(request_, args);
    return queue(b, index);
}

RedisStore::Sent* RedisStore::send_script(const std::shared_ptr<Batch>& b, std::size_t index, int script,
                                          std::vector<std::string> args) {
    Sent* s = send(b, index, args);
    if (s) {   // kept for a NOSCRIPT answer (a restarted or flushed server): sent again as EVAL
        s->script = script;
        s->retry = std::move(args);
    }
    return s;
}

RedisStore::Sent* RedisStore::queue(const std::shared_ptr<Batch>& b, std::size_t index) {
    const std::uint64_t id = next_id_++;
    void* priv = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
    if (redisAsyncFormattedCommand(ctx_, &RedisStore::reply_cb, priv, request_.data(), request_.size()) != REDIS_OK)
        return nullptr;
    if (b) b->remaining++;
    Sent& s = sent_.emplace_back();
    s.id = id;
    s.batch = b;
    s.index = index;
    return &s;
}

// PEXPIRE on a missing key answers 0 on Redis 7 and an error before it: nothing is written.
void RedisStore::probe_expire_nx() {
    expire_nx_ = false;
    key_.assign(options_.prefix).append("expire-nx-probe");
    if (Sent* s = send(nullptr, kNoReply, {"PEXPIRE", key_, "1", "NX"})) s->kind = Sent::Kind::Probe;
}

// Windows count on the server's clock, as every instance sharing it does: its TIME, read at
// connect and every kClockSyncMs, gives the offset to ours (off by at most half a round trip).
void RedisStore::sync_clock() {
    if (!ctx_ || uv_now(loop_) < next_clock_sync_) return;
    next_clock_sync_ = uv_now(loop_) + kClockSyncMs;
    if (Sent* s = send(nullptr, kNoReply, {"TIME"})) s->kind = Sent::Kind::Clock;
}

namespace {
std::int64_t local_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

std::uint64_t RedisStore::server_now_ms() const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, local_now_ms() + clock_offset_ms_));
}

void RedisStore::on_clock(const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return;
    const redisReply* sec = r->element[0];
    const redisReply* usec = r->element[1];
    if (sec->type != REDIS_REPLY_STRING || usec->type != REDIS_REPLY_STRING) return;
    const auto s = proto::parse_count(std::string_view(sec->str, sec->len));
    const auto us = proto::parse_count(std::string_view(usec->str, usec->len));
    if (!s || !us) return;
    clock_offset_ms_ = static_cast<std::int64_t>(*s * 1000 + *us / 1000) - local_now_ms();
}

// HGETALL of a window: its count now, and the fields that no longer count go (HDEL, not waited for).
std::int64_t RedisStore::window_count(const Sent& sent, const redisReply* r) {
    if (r->type != REDIS_REPLY_ARRAY) return 0;
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    fields.reserve(r->elements / 2);
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply* name = r->element[i];
        const redisReply* value = r->element[i + 1];
        if (name->type != REDIS_REPLY_STRING) continue;
        fields.emplace_back(std::string_view(name->str, name->len),
                            value->type == REDIS_REPLY_STRING ? std::string_view(value->str, value->len) : std::string_view());
    }
    const proto::RateFields window = proto::rate_window_from_fields(fields, sent.now_ms, sent.window_ms);
    if (!window.stale.empty() && ctx_) {
        std::vector<std::string> del{"HDEL", sent.key};
        for (auto f : window.stale) del.emplace_back(f);
        send(nullptr, kNoReply, del);   // its answer is not waited for
    }
    return proto::rate_window_count(window.window, sent.now_ms, sent.window_ms);
}

void RedisStore::arm_deadline(std::uint64_t at) {
    if (deadline_at_ && deadline_at_ <= at) return;
    deadline_at_ = at;
    const std::uint64_t now = uv_now(loop_);
    deadline_timer_.start(at > now ? at - now : 0, [this] { check_deadlines(); });
}

// Answered batches are not taken off the timer: it may wake once for nothing, then it is armed
// for the earliest deadline still waiting (a scan of what is in flight, once per timeout).
void RedisStore::check_deadlines() {
    deadline_at_ = 0;
    const std::uint64_t now = uv_now(loop_);
    std::uint64_t next = 0;
    for (const Sent& s : sent_) {
        if (!s.batch || s.batch->answered) continue;
        if (s.batch->deadline <= now) {
            stats_.timeouts++;
            auto late = s.batch;
            late->answer({StateStatus::Timeout, "redis did not answer within the deadline", {}});
            lost("a batch timed out");
            drop_connection();   // what is behind it in the pipeline would be late too
            return;
        }
        next = next ? std::min(next, s.batch->deadline) : s.batch->deadline;
    }
    if (next) arm_deadline(next);
}

void RedisStore::reply_cb(redisAsyncContext* ac, void* reply, void* priv) {
    auto* self = static_cast<RedisStore*>(ac->data);
    if (self) self->on_reply(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(priv)), reply);
}

void RedisStore::connect_cb(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisStore*>(ac->data);
    if (self) self->on_connect(status);
}

void RedisStore::disconnect_cb(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisStore*>(ac->data);
    if (self) self->on_disconnect(status);
}

void RedisStore::on_reply(std::uint64_t id, void* reply) {
    if (sent_.empty() || sent_.front().id != id) return;   // hiredis answers in order: never
    Sent sent = std::move(sent_.front());
    sent_.pop_front();
    auto* r = static_cast<redisReply*>(reply);
    if (sent.kind == Sent::Kind::Probe) {
        expire_nx_ = r && r->type == REDIS_REPLY_INTEGER;
        return;
    }
    if (sent.kind == Sent::Kind::Clock) return on_clock(r);
    const auto& b = sent.batch;
    if (!b) return;   // a clean-up nobody waits for
    if (r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT") &&
        !sent.retry.empty() && ctx_ && !b->answered) {
        // The server does not know the script: EVAL loads it (once per server start).
        sent.retry[0] = "EVAL";
        sent.retry[1] = kScriptText[sent.script];
        b->remaining--;   // counted again by send()
        if (send_script(b, sent.index, sent.script, std::move(sent.retry))) return;
        b->remaining++;
    }
    if (b->answered) return;
    if (!r) {
        stats_.failures++;
        return b->answer({StateStatus::Unavailable, "redis: connection lost (" + last_error_ + ")", {}});
    }
    if (r->type == REDIS_REPLY_ERROR) {
        stats_.failures++;
        return b->answer({StateStatus::Unavailable, "redis: " + std::string(r->str, r->len), {}});
    }
    if (sent.kind == Sent::Kind::Window) {
        StateReply& out = b->replies[sent.index];
        out.found = true;
        out.number = window_count(sent, r);
    } else if (sent.index != kNoReply) {
        StateReply& out = b->replies[sent.index];
        if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
            out.found = true;
            out.value.assign(r->str, r->len);
        } else if (r->type == REDIS_REPLY_INTEGER) {
            out.found = true;
            out.number = r->integer;
        }
    }
    if (--b->remaining == 0) {
        stats_.round_trips++;
        b->answer({});
    }
}

void RedisStore::on_connect(int status) {
    if (status == REDIS_OK) {
        connected_ = true;
        backoff_ms_ = 0;
        return;
    }
    // hiredis frees the context after this callback and fails its commands (reply NULL).
    std::string why = ctx_ && ctx_->errstr[0] ? ctx_->errstr : "connect failed";
    ctx_ = nullptr;
    connected_ = false;
    lost(why);
}

void RedisStore::on_disconnect(int status) {
    std::string why = status == REDIS_OK ? "closed" : (ctx_ && ctx_->errstr[0] ? ctx_->errstr : "connection lost");
    ctx_ = nullptr;
    connected_ = false;
    if (status != REDIS_OK) lost(why);
}

void RedisStore::lost(std::string why) {
    last_error_ = std::move(why);
    backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(backoff_ms_ * 2, kMaxBackoffMs);
    retry_at_ = uv_now(loop_) + backoff_ms_;
}

void RedisStore::drop_connection() {
    if (!ctx_) return;
    redisAsyncContext* ac = std::exchange(ctx_, nullptr);
    connected_ = false;
    ac->data = nullptr;   // its callbacks no longer reach us: fail what waits here instead
    redisAsyncFree(ac);
    fail_sent("redis: connection dropped (" + last_error_ + ")");
}

void RedisStore::fail_sent(const std::string& why) {
    auto sent = std::move(sent_);
    sent_.clear();
    for (auto& entry : sent) {
        if (!entry.batch) continue;
        if (!entry.batch->answered) stats_.failures++;
        entry.batch->answer({StateStatus::Unavailable, why, {}});
    }
}

}  // namespace asmtpd::io
