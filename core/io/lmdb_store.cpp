// lmdb_store.cpp - LMDB transactions for state batches, on the thread pool; see lmdb_store.hpp.
//
// Record layout: 8 bytes of expiry (wall-clock ms, little-endian; 0 = never), then the payload:
// the value (Set), the decimal counter (Incr), or the window's buckets (core/proto/rate_window's
// record, a fixed ~100 bytes). Ownership: Core is shared by the store and every job in flight; Batch by the job and
// its deadline timer.
#include "core/io/lmdb_store.hpp"

#include <lmdb.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>

#include "core/io/timer.hpp"
#include "core/io/work.hpp"
#include "core/proto/rate_window.hpp"

namespace asmtpd::io {

namespace {

constexpr std::uint64_t kSweepEveryMs = 60000;
constexpr std::size_t kSweepMaxKeys = 20000;      // per sweep: a sweep stays short

std::uint64_t wall_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get_u64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

struct Record {
    bool found = false;
    std::uint64_t expiry = 0;
    std::string_view payload;   // into the map: valid until the transaction ends
};

bool expired(const Record& r, std::uint64_t now) { return r.expiry != 0 && r.expiry <= now; }

}  // namespace

struct LmdbStore::Core {
    StateOptions options;
    std::mutex open_mutex;
    MDB_env* env = nullptr;   // set once, under open_mutex
    MDB_dbi dbi = 0;
    std::atomic<std::uint64_t> last_sweep{0};

    ~Core() {
        if (env) mdb_env_close(env);
    }

    // Opens the environment on first use; false with the reason when it cannot.
    bool open(std::string& error) {
        std::lock_guard lock(open_mutex);
        if (env) return true;
        MDB_env* e = nullptr;
        int rc = mdb_env_create(&e);
        if (rc == 0) rc = mdb_env_set_mapsize(e, options.map_size);
        if (rc == 0) rc = mdb_env_set_maxreaders(e, 512);
        if (rc == 0) rc = mdb_env_open(e, options.path.c_str(), MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC, 0600);
        if (rc == 0) {
            int dead = 0;
            mdb_reader_check(e, &dead);   // readers of a killed process hold no pages any more
            MDB_txn* txn = nullptr;
            rc = mdb_txn_begin(e, nullptr, 0, &txn);
            if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
            if (rc == 0) rc = mdb_txn_commit(txn);
            else if (txn) mdb_txn_abort(txn);
        }
        if (rc != 0) {
            error = options.path + ": " + mdb_strerror(rc);
            if (e) mdb_env_close(e);
            return false;
        }
        env = e;
        return true;
    }

    Record read(MDB_txn* txn, const std::string& key) {
        MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
        Record r;
        if (mdb_get(txn, dbi, &k, &v) != 0 || v.mv_size < 8) return r;
        r.found = true;
        r.expiry = get_u64(static_cast<const char*>(v.mv_data));
        r.payload = std::string_view(static_cast<const char*>(v.mv_data) + 8, v.mv_size - 8);
        return r;
    }

    int write(MDB_txn* txn, const std::string& key, std::uint64_t expiry, std::string_view payload) {
        std::string rec;
        rec.reserve(8 + payload.size());
        put_u64(rec, expiry);
        rec.append(payload);
        MDB_val k{key.size(), const_cast<char*>(key.data())}, v{rec.size(), rec.data()};
        return mdb_put(txn, dbi, &k, &v, 0);
    }

    // One op inside txn; a write op returns the LMDB error of its put (0 = fine).
    int apply(MDB_txn* txn, const StateOp& op, std::uint64_t now, StateReply& out) {
        Record r = read(txn, op.key);
        const bool live = r.found && !expired(r, now);
        switch (op.kind) {
        case StateOp::Kind::Get:
            out.found = live;
            if (live) out.value = std::string(r.payload);
            return 0;
        case StateOp::Kind::Set:
            return write(txn, op.key, op.ttl_ms ? now + op.ttl_ms : 0, op.value);
        case StateOp::Kind::Del: {
            MDB_val k{op.key.size(), const_cast<char*>(op.key.data())};
            int rc = mdb_del(txn, dbi, &k, nullptr);
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        case StateOp::Kind::Incr: {
            std::int64_t v = 0;
            std::uint64_t expiry = 0;
            if (live) {
                std::from_chars(r.payload.data(), r.payload.data() + r.payload.size(), v);
                expiry = r.expiry;
            }
            if (expiry == 0 && op.ttl_ms) expiry = now + op.ttl_ms;
            v += op.by;
            out.number = v;
            return write(txn, op.key, expiry, std::to_string(v));
        }
        case StateOp::Kind::WindowAdd:
        case StateOp::Kind::WindowCount: {
            // A fixed-size bucketed window (core/proto/rate_window): O(1) per op, ~100 bytes a key.
            std::optional<proto::RateWindow> w;
            if (live) w = proto::parse_rate_window(r.payload);
            if (op.kind == StateOp::Kind::WindowCount) {
                out.number = w ? proto::rate_window_count(*w, now, op.ttl_ms) : 0;
                return 0;
            }
            if (!w) w.emplace();
            out.number = proto::rate_window_add(*w, now, op.ttl_ms);
            // Kept until its newest event can no longer count (W + one bucket).
            return write(txn, op.key, now + op.ttl_ms + proto::rate_bucket_ms(op.ttl_ms), proto::format_rate_window(*w));
        }
        }
        return 0;
    }

    // Several batches in one transaction (the batches of one loop iteration, every session's):
    // a result each, in order. One failure fails them all, as it would have failed each alone.
    std::vector<StateResult> execute(const std::vector<const std::vector<StateOp>*>& batches) {
        std::vector<StateResult> results(batches.size());
        auto fail_all = [&](std::string error) {
            for (auto& r : results) {
                r.status = StateStatus::Unavailable;
                r.error = error;
                r.replies.clear();
            }
            return std::move(results);
        };
        std::string error;
        if (!open(error)) return fail_all(error);
        const bool read_only = std::all_of(batches.begin(), batches.end(), [](const std::vector<StateOp>* ops) {
            return std::all_of(ops->begin(), ops->end(), [](const StateOp& op) {
                return op.kind == StateOp::Kind::Get || op.kind == StateOp::Kind::WindowCount;
            });
        });
        const std::uint64_t now = wall_ms();
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn);
        for (std::size_t b = 0; rc == 0 && b < batches.size(); ++b) {
            const auto& ops = *batches[b];
            results[b].replies.resize(ops.size());
            for (std::size_t i = 0; rc == 0 && i < ops.size(); ++i) rc = apply(txn, ops[i], now, results[b].replies[i]);
        }
        if (rc == 0) rc = mdb_txn_commit(txn);
        else if (txn) mdb_txn_abort(txn);
        if (rc != 0) return fail_all(options.path + ": " + mdb_strerror(rc));
        if (!read_only) maybe_sweep(now);
        return results;
    }

    // Deletes expired records, at most kSweepMaxKeys visited, at most once a minute.
    void maybe_sweep(std::uint64_t now) {
        std::uint64_t last = last_sweep.load();
        if (now - last < kSweepEveryMs || !last_sweep.compare_exchange_strong(last, now)) return;
        if (last == 0) return;   // the first write only starts the clock
        MDB_txn* txn = nullptr;
        if (mdb_txn_begin(env, nullptr, 0, &txn) != 0) return;
        MDB_cursor* cur = nullptr;
        if (mdb_cursor_open(txn, dbi, &cur) != 0) {
            mdb_txn_abort(txn);
            return;
        }
        MDB_val k{}, v{};
        std::size_t seen = 0;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && seen < kSweepMaxKeys;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), ++seen) {
            if (v.mv_size < 8) continue;
            std::uint64_t expiry = get_u64(static_cast<const char*>(v.mv_data));
            if (expiry != 0 && expiry <= now) mdb_cursor_del(cur, 0);
        }
        mdb_cursor_close(cur);
        mdb_txn_commit(txn);
    }
};

// One run() call: the answer goes out once, from the job's end or the deadline timer.
struct LmdbStore::Batch {
    std::vector<StateOp> ops;
    StateCallback done;
    std::unique_ptr<Timer> deadline;
    bool answered = false;

    void answer(StateResult r) {
        if (answered) return;
        answered = true;
        if (deadline) deadline->stop();
        if (done) done(std::move(r));
    }
};

LmdbStore::LmdbStore(uv_loop_t* loop, StateOptions o)
    : loop_(loop),
      timeout_ms_(o.timeout_ms),
      core_(std::make_shared<Core>()),
      stats_(std::make_shared<StateStats>()) {
    core_->options = std::move(o);
}

LmdbStore::~LmdbStore() {
    if (!pending_.empty()) flush();   // fire-and-forget writes of the last sessions still happen
}

void LmdbStore::run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done, std::size_t requests) {
    auto batch = std::make_shared<Batch>();
    batch->ops = std::move(ops);
    batch->done = std::move(done);
    stats_->batches += requests;
    stats_->ops += batch->ops.size();
    const std::uint64_t limit = deadline_ms == 0 ? timeout_ms_ : std::min(deadline_ms, timeout_ms_);
    std::weak_ptr<StateStats> stats = stats_;
    batch->deadline = std::make_unique<Timer>(loop_);
    batch->deadline->start(limit, [b = batch.get(), stats] {
        if (auto s = stats.lock()) s->timeouts++;
        b->answer({StateStatus::Timeout, "the embedded store did not answer in time", {}});
    });
    pending_.push_back(std::move(batch));
    if (!merge_) merge_ = std::make_unique<Timer>(loop_);
    if (!merge_->active()) merge_->start(0, [this] { flush(); });
}

// Every batch of this loop iteration, every session's, in one transaction and one pool job:
// under load that is several sessions' batches per thread hand-over, not one each.
void LmdbStore::flush() {
    auto batches = std::make_shared<std::vector<std::shared_ptr<Batch>>>(std::move(pending_));
    pending_.clear();
    auto results = std::make_shared<std::vector<StateResult>>();
    std::weak_ptr<StateStats> stats = stats_;
    run_in_pool(
        loop_,
        [core = core_, batches, results] {
            std::vector<const std::vector<StateOp>*> ops;
            ops.reserve(batches->size());
            for (const auto& b : *batches) ops.push_back(&b->ops);
            *results = core->execute(ops);
        },
        [batches, results, stats] {
            if (auto s = stats.lock()) s->round_trips++;
            for (std::size_t i = 0; i < batches->size(); ++i) {
                auto& batch = (*batches)[i];
                auto& result = (*results)[i];
                if (!result.ok())
                    if (auto s = stats.lock()) s->failures++;
                batch->answer(std::move(result));
                batch->deadline.reset();
            }
        });
}

}  // namespace asmtpd::io
