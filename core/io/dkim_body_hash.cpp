// dkim_body_hash.cpp - BodyCanonicalizer into Sha256, and the queue that moves it to another
// thread (see dkim_body_hash.hpp).
//
// Locks: hash_mu is held by whoever hashes (a drain job, finish(), or the loop past the cap),
// for the whole drain, so batches go through the hashers in queue order; queue_mu guards the
// queue and its byte count and is never held while hashing. Order: hash_mu, then queue_mu.
#include "core/io/dkim_body_hash.hpp"

#include <deque>
#include <mutex>
#include <utility>

namespace asmtpd::io::dkim {

BodyHasher::BodyHasher(proto::dkim::Canon canon, std::optional<std::uint64_t> limit)
    : canon_(canon, limit, [this](std::string_view bytes) { sha_.update(bytes); }) {}

BodyDigest BodyHasher::finish() {
    canon_.finish();
    return {sha_.finish(), canon_.canonical_length()};
}

struct OffloadedBodyHash::State {
    std::mutex hash_mu;
    std::vector<std::unique_ptr<BodyHasher>> hashers;      // guarded by hash_mu
    std::optional<std::vector<BodyDigest>> digests;        // guarded by hash_mu; set by finish()
    std::mutex queue_mu;
    std::deque<std::string> queue;                         // guarded by queue_mu
    std::size_t unhashed = 0;   // guarded by queue_mu: bytes queued or being hashed
    // Hashed batches, freed by the loop that allocated them (~OffloadedBodyHash): freeing a
    // large block on the other thread takes the loop's malloc arena lock, and the two threads
    // met on it once a message (bench load (j)). Guarded by queue_mu.
    std::vector<std::string> spent;

    std::size_t backlog() {
        std::lock_guard lock(queue_mu);
        return unhashed;
    }
    void push(std::string batch) {
        std::lock_guard lock(queue_mu);
        unhashed += batch.size();
        queue.push_back(std::move(batch));
    }
    void hash(std::string_view bytes) {   // caller holds hash_mu
        for (auto& h : hashers) h->feed(bytes);
    }
    // Hashes every queued batch, in order; returns the bytes. Caller holds hash_mu.
    std::size_t drain() {
        std::size_t bytes = 0;
        for (;;) {
            std::string batch;
            {
                std::lock_guard lock(queue_mu);
                if (queue.empty()) return bytes;
                batch = std::move(queue.front());
                queue.pop_front();
            }
            hash(batch);
            bytes += batch.size();
            std::lock_guard lock(queue_mu);
            unhashed -= batch.size();
            spent.push_back(std::move(batch));
        }
    }
};

OffloadedBodyHash::OffloadedBodyHash(Post post, Limits limits)
    : state_(std::make_shared<State>()), post_(std::move(post)), limits_(limits) {}

// Frees the hashed batches here, keeping one's memory for the next batch: memory stays bounded
// by the backlog, and a long body reuses its buffers.
void OffloadedBodyHash::recycle() {
    std::vector<std::string> spent;
    {
        std::lock_guard lock(state_->queue_mu);
        spent.swap(state_->spent);
    }
    if (batch_.capacity() < limits_.batch && !spent.empty()) {
        batch_ = std::move(spent.back());
        batch_.clear();
        ++stats_.reused;
    }
}

OffloadedBodyHash::~OffloadedBodyHash() {
    std::vector<std::string> spent;
    std::lock_guard lock(state_->queue_mu);
    spent.swap(state_->spent);
}

std::size_t OffloadedBodyHash::add(proto::dkim::Canon canon, std::optional<std::uint64_t> limit) {
    std::lock_guard lock(state_->hash_mu);
    state_->hashers.push_back(std::make_unique<BodyHasher>(canon, limit));
    return hashers_++;
}

void OffloadedBodyHash::feed(std::string_view bytes) {
    if (ended_ || hashers_ == 0 || bytes.empty()) return;
    if (batch_.empty()) recycle();
    batch_.append(bytes);
    if (batch_.size() >= limits_.batch) flush();
}

void OffloadedBodyHash::flush() {
    if (!post_ || state_->backlog() + batch_.size() > limits_.backlog) {
        // No hashing thread, or it is behind: hash here, after what is queued (see the header).
        std::lock_guard lock(state_->hash_mu);
        stats_.hashed_here += state_->drain() + batch_.size();
        state_->hash(batch_);
        batch_.clear();
        return;
    }
    state_->push(std::exchange(batch_, {}));
    ++stats_.jobs;
    post_([s = state_] {
        std::lock_guard lock(s->hash_mu);
        s->drain();
    });
}

std::size_t OffloadedBodyHash::backlog() const { return state_->backlog(); }

void OffloadedBodyHash::end() {
    if (ended_) return;
    ended_ = true;
    if (!batch_.empty()) state_->push(std::exchange(batch_, {}));
}

std::vector<BodyDigest> OffloadedBodyHash::finish() const {
    std::lock_guard lock(state_->hash_mu);
    if (!state_->digests) {
        state_->drain();
        std::vector<BodyDigest> out;
        for (auto& h : state_->hashers) out.push_back(h->finish());
        state_->digests = std::move(out);
    }
    return *state_->digests;
}

}  // namespace asmtpd::io::dkim
