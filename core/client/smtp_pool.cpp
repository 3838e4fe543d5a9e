// smtp_pool.cpp - connection reuse, the connection cap and the FIFO of waiting deliveries
// (see smtp_pool.hpp).
//
// Must never: answer a job twice or not at all (each has a deadline, and every path that
// ends it goes through finish()); hand a connection that failed back out; open more
// connections than jobs waiting for one; touch itself after its last owner let go (every
// entry point holds a shared_ptr to the pool while it runs). Reentrancy: done callbacks run
// after the pool's own state is consistent, and may call deliver() again; dispatch() is
// guarded so a nested call only asks the running one for another round.
#include "core/client/smtp_pool.hpp"

#include <signal.h>

#include <algorithm>

#include <fmt/format.h>

namespace asmtpd::client {

struct SmtpPool::Pending {
    std::shared_ptr<DeliveryJob> job;
    std::unique_ptr<io::Timer> deadline;
    ClientConnection* conn = nullptr;   // where it runs, once it does
    bool done = false;
    std::shared_ptr<SmtpPool> pool;     // the pool stays while a job is in flight
};

std::shared_ptr<SmtpPool> SmtpPool::create(uv_loop_t* loop, ClientConfig config, std::string helo_name) {
    return std::shared_ptr<SmtpPool>(new SmtpPool(loop, std::move(config), std::move(helo_name)));
}

SmtpPool::SmtpPool(uv_loop_t* loop, ClientConfig config, std::string helo_name)
    : loop_(loop), config_(std::move(config)), helo_name_(std::move(helo_name)) {}

SmtpPool::~SmtpPool() {
    draining_ = true;
    for (auto& c : conns_) {
        if (c->idle()) c->quit();
        else c->close();
    }
    conns_.clear();
}

std::size_t SmtpPool::idle_connections() const {
    return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const auto& c) { return c->idle(); }));
}

void SmtpPool::deliver(Envelope envelope, io::Log log, std::function<bool()> wanted,
                       std::function<void(DeliveryReport)> done, std::uint64_t total_ms) {
    auto self = shared_from_this();
    auto p = std::make_shared<Pending>();
    p->job = std::make_shared<DeliveryJob>(DeliveryJob{std::move(envelope), std::move(log), std::move(wanted), std::move(done)});
    p->pool = self;
    p->deadline = std::make_unique<io::Timer>(loop_);
    std::weak_ptr<Pending> wp = p;
    std::weak_ptr<SmtpPool> weak = self;
    p->deadline->start(total_ms ? total_ms : config_.limits.total_ms, [wp, weak] {
        auto me = weak.lock();
        auto pending = wp.lock();
        if (me && pending) me->expire(pending);
    });
    queue_.push_back(std::move(p));
    dispatch();
}

void SmtpPool::shutdown() {
    // No logging here: PoolSet's destructor calls this, possibly after the logger is gone.
    auto self = shared_from_this();
    draining_ = true;
    std::vector<std::shared_ptr<ClientConnection>> idle;
    for (auto& c : conns_)
        if (c->idle()) idle.push_back(c);
    for (auto& c : idle) {
        c->quit();
        take(*c);
    }
}

void SmtpPool::watch_signals() {
    if (stop_signals_) return;
    std::weak_ptr<SmtpPool> weak = weak_from_this();
    stop_signals_ = std::make_unique<io::StopSignals>(loop_, [weak] {
        if (auto me = weak.lock()) me->shutdown();
    });
}

std::shared_ptr<ClientConnection> SmtpPool::take(ClientConnection& c) {
    std::shared_ptr<ClientConnection> out;
    auto it = std::find_if(conns_.begin(), conns_.end(), [&](const auto& p) { return p.get() == &c; });
    if (it != conns_.end()) {
        out = std::move(*it);
        conns_.erase(it);
    }
    if (conns_.empty()) {
        // No connection, no handle: the loop may end (see the header).
        stop_signals_.reset();
    }
    return out;
}

void SmtpPool::to_back(ClientConnection& c) {
    auto it = std::find_if(conns_.begin(), conns_.end(), [&](const auto& p) { return p.get() == &c; });
    if (it != conns_.end()) std::rotate(it, it + 1, conns_.end());
}

void SmtpPool::dispatch() {
    if (dispatching_) {
        dispatch_again_ = true;
        return;
    }
    auto self = shared_from_this();
    dispatching_ = true;
    do {
        dispatch_again_ = false;
        while (!queue_.empty()) {
            // The most recently used idle connection first: surplus ones then age out.
            ClientConnection* idle = nullptr;
            for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
                if ((*it)->idle() && !(*it)->has_job()) {
                    idle = it->get();
                    break;
                }
            }
            if (idle) {
                auto p = std::move(queue_.front());
                queue_.pop_front();
                p->conn = idle;
                running_.push_back(p);
                idle->run(p->job);
                continue;
            }
            if (conns_.size() < config_.limits.max_connections && opening_ < queue_.size()) {
                auto c = std::make_shared<ClientConnection>(loop_, config_, helo_name_, *this, queue_.front()->job->log,
                                                            ++next_id_);
                conns_.push_back(c);
                ++opening_;
                watch_signals();
                c->open();
                continue;
            }
            break;
        }
    } while (dispatch_again_);
    dispatching_ = false;
}

void SmtpPool::finish(const std::shared_ptr<Pending>& p, DeliveryReport report) {
    if (p->done) return;
    p->done = true;
    p->deadline.reset();
    p->conn = nullptr;
    running_.erase(std::remove(running_.begin(), running_.end(), p), running_.end());
    queue_.erase(std::remove(queue_.begin(), queue_.end(), p), queue_.end());
    auto done = std::move(p->job->done);
    p->job->done = nullptr;
    auto keep = std::move(p->pool);   // released when this returns; callers hold their own
    if (done) done(std::move(report));
}

void SmtpPool::expire(const std::shared_ptr<Pending>& p) {
    auto self = shared_from_this();
    if (p->done) return;
    const std::string why = fmt::format("no answer from the next hop {} within total_timeout ({} s)",
                                        config_.hop.describe(), config_.limits.total_ms / 1000.0);
    if (p->conn) {
        p->conn->abandon(why);   // comes back through job_finished
        if (!p->done) {          // the connection had already let the job go: answer anyway
            DeliveryReport r;
            r.failure = Failure::Timeout;
            r.error = why;
            finish(p, std::move(r));
        }
        return;
    }
    DeliveryReport r;
    r.stage = Stage::Connect;
    r.failure = Failure::Timeout;
    r.error = why + " (waiting for a free connection)";
    finish(p, std::move(r));
}

void SmtpPool::connection_ready(ClientConnection& c) {
    auto self = shared_from_this();
    if (opening_ > 0) --opening_;
    if (draining_ && queue_.empty()) {
        c.quit();
        take(c);
        return;
    }
    to_back(c);   // the most recently ready
    dispatch();
}

void SmtpPool::connection_failed(ClientConnection& c, DeliveryReport why) {
    auto self = shared_from_this();
    if (opening_ > 0) --opening_;
    auto keep = take(c);
    if (why.retry_plaintext && !c.plaintext_retry() && !queue_.empty() && !draining_) {
        // Postfix's may level: the handshake failed, so the oldest waiter gets one new
        // connection without STARTTLS instead of this failure (it carries one delivery).
        auto retry = std::make_shared<ClientConnection>(loop_, config_, helo_name_, *this, queue_.front()->job->log,
                                                        ++next_id_, true);
        conns_.push_back(retry);
        ++opening_;
        watch_signals();
        retry->open();
        dispatch();
        return;
    }
    // One attempt per waiting job: the oldest waiter gets this failure, so a dead next hop
    // answers every job after at most one connect_timeout instead of its total_timeout.
    if (!queue_.empty()) {
        auto p = queue_.front();
        finish(p, std::move(why));
    }
    dispatch();
}

void SmtpPool::connection_lost(ClientConnection& c) {
    auto self = shared_from_this();
    auto keep = take(c);
    dispatch();
}

void SmtpPool::job_finished(ClientConnection& c, DeliveryReport report, After after) {
    auto self = shared_from_this();
    std::shared_ptr<Pending> p;
    for (auto& r : running_) {
        if (r->conn == &c) {
            p = r;
            break;
        }
    }
    std::shared_ptr<ClientConnection> keep;
    if (after == After::Reuse && !draining_ && !c.plaintext_retry()) {
        to_back(c);   // most recently used goes last
    } else {
        // A plaintext retry is not reused: the next delivery tries TLS again.
        if (after == After::Reuse) c.quit();
        keep = take(c);
    }
    if (p && after == After::Retry && !p->done) {
        // Nothing of the transaction was sent (a stale pooled connection): run it elsewhere.
        running_.erase(std::remove(running_.begin(), running_.end(), p), running_.end());
        p->conn = nullptr;
        queue_.push_front(p);
    } else if (p) {
        finish(p, std::move(report));
    }
    dispatch();
}

}  // namespace asmtpd::client
