// work.hpp - run a blocking job (fsync, maildir writes, pread of a spool) on libuv's thread pool.
//
// Rules: `work` runs on a pool thread and must touch nothing owned by the loop thread (no libuv
// calls, no session state); `after` runs on the loop thread once work has returned. The request
// owns both functions until `after` has run. The loop must keep running until then. Neither
// function may throw. The pool has UV_THREADPOOL_SIZE threads (default 4), shared with uv_fs_*.
#pragma once

#include <functional>

#include <uv.h>

namespace asmtpd::io {

void run_in_pool(uv_loop_t* loop, std::function<void()> work, std::function<void()> after);

}  // namespace asmtpd::io
