// lmdb_store.hpp - the embedded state store: one LMDB file shared by every worker process of
// an instance (LMDB's lock file serialises their writers), kept across restarts.
//
// The batches of one loop iteration (every session's) are one LMDB transaction on the thread
// pool (a read-only one when they only read), so the loop never waits on the file lock or the
// disk, and a busy loop pays one thread hand-over for several sessions' batches. Records carry their expiry
// (wall-clock ms): a read ignores an expired record, a write batch replaces it, and a sweep
// after a write batch (at most once a minute per process) deletes what expired.
// The environment is opened on the first batch (after the worker forked: LMDB forbids using
// an environment across fork) with MDB_NOSYNC: a daemon restart keeps everything, a machine
// crash may lose the last writes, which for greylisting and rate counters costs one retry.
// Must never: run an LMDB call on the loop thread; touch the store from a pool thread (the pool
// side only sees Core, shared with the jobs in flight).
#pragma once

#include <memory>
#include <vector>

#include "core/io/state_store.hpp"
#include "core/io/timer.hpp"

namespace asmtpd::io {

class LmdbStore final : public StateStore {
public:
    LmdbStore(uv_loop_t* loop, StateOptions o);
    ~LmdbStore() override;

    using StateStore::run;
    void run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done, std::size_t requests) override;
    const char* backend() const override { return "embedded"; }
    uv_loop_t* loop() const override { return loop_; }
    const StateStats& stats() const override { return *stats_; }

    struct Core;   // the environment and its options, shared with the pool jobs
    struct Batch;  // one run() call, shared by its job and its deadline timer

private:
    void flush();

    uv_loop_t* loop_;
    std::uint64_t timeout_ms_;
    std::shared_ptr<Core> core_;
    std::shared_ptr<StateStats> stats_;   // shared: a job may finish after the store is gone
    std::vector<std::shared_ptr<Batch>> pending_;   // run() calls of this loop iteration
    std::unique_ptr<Timer> merge_;                  // sends them at the next one
};

}  // namespace asmtpd::io
