// state_scope.cpp - one session's state batches, merged per loop iteration; see state_store.hpp.
//
// A prefetch replaces an unclaimed one of the same tag (the latest question is the right one).
// Ownership: held_ and prefetches_ belong to the scope. A sent batch's callback holds the
// callers' callbacks and the Prefetch blocks it fills (shared), and reaches the callers only
// while alive_ says the scope (the session) still exists.
#include <algorithm>
#include <optional>
#include <utility>

#include "core/io/state_store.hpp"

namespace asmtpd::io {

struct StateScope::Prefetch {
    std::string tag;
    std::optional<StateResult> result;   // the answer, until claimed
    StateCallback waiter;                // claim() came before the answer
    bool claimed = false;
};

StateScope::StateScope(StateStore& s) : store_(s) {}

StateScope::~StateScope() {
    alive_.reset();   // every callback still pending is dropped ...
    if (!held_.empty()) send();   // ... and what is held is still written
}

void StateScope::run(std::vector<StateOp> ops, std::uint64_t deadline_ms, StateCallback done) {
    const bool now = static_cast<bool>(done);
    hold({std::move(ops), deadline_ms, std::move(done)});
    if (now) send();
}

void StateScope::prefetch(std::string tag, std::vector<StateOp> ops, std::uint64_t deadline_ms) {
    auto p = std::make_shared<Prefetch>();
    p->tag = std::move(tag);
    // A newer prefetch of the same tag (the client changed, XCLIENT) replaces the old one.
    std::erase_if(prefetches_, [&](const std::shared_ptr<Prefetch>& q) { return q->tag == p->tag; });
    if (prefetches_.size() >= kMaxPrefetches) prefetches_.erase(prefetches_.begin());
    prefetches_.push_back(p);
    std::weak_ptr<int> alive = alive_;
    hold({std::move(ops), deadline_ms, [p, alive](StateResult r) {
              if (p->claimed && p->waiter) {
                  auto w = std::move(p->waiter);
                  if (!alive.expired()) w(std::move(r));
                  return;
              }
              p->result = std::move(r);
          }});
}

bool StateScope::claim(std::string_view tag, StateCallback done) {
    auto it = std::find_if(prefetches_.begin(), prefetches_.end(),
                           [&](const std::shared_ptr<Prefetch>& p) { return p->tag == tag; });
    if (it == prefetches_.end()) return false;
    auto p = *it;
    prefetches_.erase(it);
    p->claimed = true;
    if (p->result) {
        auto r = std::move(*p->result);
        p->result.reset();
        done(std::move(r));
        return true;
    }
    p->waiter = std::move(done);
    // Still held: the claimant waits for it, so it goes now (with whatever else is held).
    if (!held_.empty()) send();
    return true;
}

void StateScope::hold(Request r) {
    held_.push_back(std::move(r));
    if (!flush_) flush_ = std::make_unique<Timer>(store_.loop());
    if (!flush_->active()) flush_->start(0, [this] {
        if (!held_.empty()) send();
    });
}

void StateScope::send() {
    if (flush_) flush_->stop();
    auto requests = std::move(held_);
    held_.clear();
    std::vector<StateOp> ops;
    std::uint64_t deadline = 0;
    bool answered = false;   // does anyone wait for the answer?
    for (auto& r : requests) {
        if (r.deadline_ms && (deadline == 0 || r.deadline_ms < deadline)) deadline = r.deadline_ms;
        answered = answered || static_cast<bool>(r.done);
    }
    if (requests.size() == 1) {
        ops = std::move(requests.front().ops);
    } else {
        for (auto& r : requests)
            for (auto& op : r.ops) ops.push_back(std::move(op));
    }
    const std::size_t n = requests.size();
    if (!answered) return store_.run(std::move(ops), deadline, {}, n);
    // Each caller gets its own slice of the replies (or the batch's failure).
    std::vector<std::pair<std::size_t, StateCallback>> callers;   // (ops of the request, callback)
    for (auto& r : requests) callers.emplace_back(r.ops.size(), std::move(r.done));
    if (n == 1) callers.front().first = ops.size();
    std::weak_ptr<int> alive = alive_;
    store_.run(std::move(ops), deadline, [alive, callers = std::move(callers)](StateResult r) mutable {
        std::size_t at = 0;
        for (auto& [count, done] : callers) {
            StateResult part{r.status, r.error, {}};
            if (r.ok()) {
                auto from = r.replies.begin() + static_cast<std::ptrdiff_t>(std::min(at, r.replies.size()));
                auto to = r.replies.begin() + static_cast<std::ptrdiff_t>(std::min(at + count, r.replies.size()));
                part.replies.assign(std::make_move_iterator(from), std::make_move_iterator(to));
            }
            at += count;
            if (alive.expired()) return;   // the session ended (maybe inside the last callback)
            if (done) done(std::move(part));
        }
    }, n);
}

}  // namespace asmtpd::io
