// cpu_thread.hpp - one thread a loop owns for CPU-bound jobs that use OpenSSL (DKIM's RSA
// verification and signing), so the loop only hands them over and reports.
//
// Why not libuv's pool (work.hpp): OpenSSL keeps per-thread state (the random generator used
// for RSA blinding, decoder caches) that is released only when a thread calls
// OPENSSL_thread_stop; libuv's pool threads never do, and LeakSanitizer reports that state at
// exit. This thread calls it before it ends, and the destructor joins it.
//
// Rules: jobs run one at a time in the order they were posted (a job may rely on an earlier
// one having run); `work` must touch nothing the loop owns (no libuv calls, no session state);
// `after` runs on the loop thread once its work has returned, never inside run(). The thread
// starts with the first job. While jobs are outstanding the loop stays alive; an idle
// CpuThread does not keep it running. Destroying the CpuThread waits for the job in progress
// and drops the others: their `after` never runs.
//
// post(work) is run() without `after`, for jobs that feed a computation a later run() job
// completes (the dkim plugin's body hashing): no wake-up of the loop when it is done, not
// counted in outstanding(), and it does not keep the loop alive. Its `work` is destroyed on
// the CPU thread once it has run (or on the loop, dropped, when the CpuThread is destroyed),
// so its captures must be safe to free there: owned values, shared_ptr to state that guards
// itself. It runs in FIFO order with the run() jobs.
#pragma once

#include <functional>
#include <memory>

#include <uv.h>

namespace asmtpd::io {

class CpuThread {
public:
    explicit CpuThread(uv_loop_t* loop);
    ~CpuThread();
    CpuThread(const CpuThread&) = delete;
    CpuThread& operator=(const CpuThread&) = delete;

    void run(std::function<void()> work, std::function<void()> after);
    void post(std::function<void()> work);
    // Jobs posted whose `after` has not run yet.
    std::size_t outstanding() const;

private:
    struct Shared;
    uv_loop_t* loop_;
    Shared* shared_;   // owned: freed by libuv's close callback of its async handle
};

}  // namespace asmtpd::io
