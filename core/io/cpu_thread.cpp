// cpu_thread.cpp - the loop's CPU thread: a FIFO of jobs, a condition variable, and a uv_async_t
// that brings finished jobs back to the loop (see cpu_thread.hpp).
//
// Must never: call a libuv function from the thread other than uv_async_send, send after the
// async handle is closed (the destructor joins the thread first), or destroy a run() job's
// functions on the thread: their captures belong to the loop, so a finished job goes back whole
// and the loop destroys it. A post() job (detached) is the exception: its captures are made
// to be freed on the thread, and nothing goes back. Ownership: CpuThread owns Shared until its
// destructor hands it to libuv; the async handle's close callback frees it.
#include "core/io/cpu_thread.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include <openssl/crypto.h>

namespace asmtpd::io {

namespace {
struct Job {
    std::function<void()> work;
    std::function<void()> after;
    bool detached = false;   // post(): destroyed on the thread, no delivery
};
}  // namespace

struct CpuThread::Shared {
    uv_async_t async;
    std::mutex mu;
    std::condition_variable wake;
    std::deque<Job> todo;   // guarded by mu
    std::deque<Job> done;   // guarded by mu
    bool stopping = false;  // guarded by mu
    std::thread thread;
    std::size_t outstanding = 0;   // loop thread only
    bool alive = true;             // loop thread only: false once the CpuThread is gone

    void thread_main() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mu);
                wake.wait(lock, [this] { return stopping || !todo.empty(); });
                if (stopping) break;
                job = std::move(todo.front());
                todo.pop_front();
            }
            if (job.work) job.work();
            if (job.detached) {
                job = Job{};   // its captures are freed here (see post())
                continue;
            }
            {
                std::lock_guard lock(mu);
                done.push_back(std::move(job));
            }
            uv_async_send(&async);
        }
        OPENSSL_thread_stop();
    }

    void deliver() {
        std::deque<Job> finished;
        {
            std::lock_guard lock(mu);
            finished.swap(done);
        }
        while (!finished.empty() && alive) {
            Job job = std::move(finished.front());
            finished.pop_front();
            if (--outstanding == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&async));
            // The job leaves the queue first: after() may post more work or end the session.
            if (job.after) job.after();
        }
    }
};

CpuThread::CpuThread(uv_loop_t* loop) : loop_(loop), shared_(new Shared) {
    uv_async_init(loop_, &shared_->async, [](uv_async_t* a) { static_cast<Shared*>(a->data)->deliver(); });
    shared_->async.data = shared_;
    uv_unref(reinterpret_cast<uv_handle_t*>(&shared_->async));
}

CpuThread::~CpuThread() {
    std::deque<Job> dropped;
    {
        std::lock_guard lock(shared_->mu);
        shared_->stopping = true;
        dropped.swap(shared_->todo);
    }
    shared_->wake.notify_one();
    if (shared_->thread.joinable()) shared_->thread.join();
    dropped.clear();
    shared_->done.clear();
    shared_->alive = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&shared_->async),
             [](uv_handle_t* h) { delete static_cast<Shared*>(h->data); });
}

void CpuThread::run(std::function<void()> work, std::function<void()> after) {
    if (shared_->outstanding++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&shared_->async));
    {
        std::lock_guard lock(shared_->mu);
        shared_->todo.push_back({std::move(work), std::move(after)});
    }
    shared_->wake.notify_one();
    if (!shared_->thread.joinable()) shared_->thread = std::thread([s = shared_] { s->thread_main(); });
}

void CpuThread::post(std::function<void()> work) {
    {
        std::lock_guard lock(shared_->mu);
        shared_->todo.push_back({std::move(work), {}, true});
    }
    shared_->wake.notify_one();
    if (!shared_->thread.joinable()) shared_->thread = std::thread([s = shared_] { s->thread_main(); });
}

std::size_t CpuThread::outstanding() const { return shared_->outstanding; }

}  // namespace asmtpd::io
