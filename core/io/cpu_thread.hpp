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
    // Jobs posted whose `after` has not run yet.
    std::size_t outstanding() const;

private:
    struct Shared;
    uv_loop_t* loop_;
    Shared* shared_;   // owned: freed by libuv's close callback of its async handle
};

}  // namespace asmtpd::io
