// work.cpp - uv_queue_work wrapper whose request owns its two functions.
//
// Must never: free the request before the after-callback, or call `after` off the loop thread.
// Ownership: WorkReq is heap-allocated here and deleted in on_after.
#include "core/io/work.hpp"

#include <utility>

namespace asmtpd::io {

namespace {

struct WorkReq {
    uv_work_t req;
    std::function<void()> work;
    std::function<void()> after;
};

void on_work(uv_work_t* req) {
    auto* w = static_cast<WorkReq*>(req->data);
    if (w->work) w->work();
}

void on_after(uv_work_t* req, int /*status: only UV_ECANCELED, and we never cancel*/) {
    auto* w = static_cast<WorkReq*>(req->data);
    auto after = std::move(w->after);
    delete w;   // before after(): it may queue more work and free what work captured
    if (after) after();
}

}  // namespace

void run_in_pool(uv_loop_t* loop, std::function<void()> work, std::function<void()> after) {
    auto* w = new WorkReq{{}, std::move(work), std::move(after)};
    w->req.data = w;
    // uv_queue_work fails only for a null work callback, which on_work never is.
    uv_queue_work(loop, &w->req, on_work, on_after);
}

}  // namespace asmtpd::io
