// dkim_body_hash.hpp - a DKIM body hash computed as the body streams in: the canonicalizer
// of core/proto/dkim_body feeding a SHA-256 (RFC 6376 §3.7 bh=).
//
// BodyHasher: one (c= body, l=), fed and finished on one thread. Not copyable (it owns an
// OpenSSL digest context); feed() after finish() is ignored.
//
// OffloadedBodyHash: several BodyHashers fed the same body on another thread (the loop's CPU
// thread), so the loop only copies bytes. The dkim plugin's observers use it: the verifier
// keeps one hasher per distinct (c= body, l=) among the message's signatures, the signer one.
//   Loop side (one thread): add() every hasher, then feed() the body chunks (after
//   dot-unstuffing), then end(). feed() gathers the chunks into a batch; a full batch
//   (Limits::batch) goes to a queue and a drain job goes to `post`. end() queues the last
//   batch without posting: finish() takes it.
//   Hashing side: the drain jobs (any thread, any order: whoever drains holds the hashing
//   mutex and takes the queue's batches in order), then finish() once, on a thread that
//   end() happened-before (a job posted after end(), or the loop itself).
//   Ownership: the state the jobs touch is held by shared_ptr; every job holds it, so
//   destroying this object (a session closed mid-DATA) with jobs queued frees nothing they
//   use; the last holder frees it (maybe on the CPU thread: it holds no loop resource).
//   Backlog cap: the bytes queued and not hashed yet are bounded by Limits::backlog plus one
//   batch. When a full batch would pass the cap (the client streams faster than the CPU
//   thread hashes, or the thread is busy with other sessions' jobs), the loop hashes in place:
//   it takes the hashing mutex (waiting for at most the batch the thread is on), drains the
//   queue in order, then hashes its batch, so order holds and the client is slowed down to
//   the hashing speed. The drain jobs posted earlier then find an empty queue.
//   Without a `post` (tools, tests) every full batch is hashed in place, on the caller.
//   Buffers: hashed batches are not freed by the hashing side but handed back; the loop frees
//   them (or reuses one as its next batch) when it starts a batch and when this object goes:
//   a large block freed on another thread takes the allocating thread's malloc arena lock.
//   Held back memory is at most what the backlog cap allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/dkim_crypto.hpp"
#include "core/proto/dkim_body.hpp"

namespace asmtpd::io::dkim {

// What the body side produced for one signature's (c= body, l=).
struct BodyDigest {
    std::string hash;                     // SHA-256 of the (limited) canonical body, 32 bytes
    std::uint64_t canonical_length = 0;   // the whole canonical body, uncapped
};

class BodyHasher {
public:
    BodyHasher(proto::dkim::Canon canon, std::optional<std::uint64_t> limit);
    BodyHasher(const BodyHasher&) = delete;
    BodyHasher& operator=(const BodyHasher&) = delete;

    void feed(std::string_view chunk) { canon_.feed(chunk); }
    BodyDigest finish();

private:
    Sha256 sha_;
    proto::dkim::BodyCanonicalizer canon_;
};

// OffloadedBodyHash's sizes (outside the class: GCC refuses a nested struct with member
// initializers as a default argument of its enclosing class).
struct BodyHashLimits {
    std::size_t batch = 64 * 1024;     // bytes gathered before a drain job is posted
    std::size_t backlog = 256 * 1024;  // queued, not hashed: past it the loop hashes in place
};

class OffloadedBodyHash {
public:
    // Runs a job on the hashing thread (Context::post_to_cpu_thread).
    using Post = std::function<void(std::function<void()>)>;
    using Limits = BodyHashLimits;
    struct Stats {   // loop side, for tests and logs
        std::size_t jobs = 0;              // drain jobs posted
        std::uint64_t hashed_here = 0;     // body bytes the loop hashed in place (its batches past
                                           // the cap or without a post, and the queue it drained)
        std::size_t reused = 0;            // batches started in a hashed batch's buffer
    };

    explicit OffloadedBodyHash(Post post = {}, Limits limits = {});
    ~OffloadedBodyHash();
    OffloadedBodyHash(const OffloadedBodyHash&) = delete;
    OffloadedBodyHash& operator=(const OffloadedBodyHash&) = delete;

    // Loop side. add(): before the first feed(); returns the hasher's index in finish().
    std::size_t add(proto::dkim::Canon canon, std::optional<std::uint64_t> limit);
    std::size_t hashers() const { return hashers_; }
    void feed(std::string_view bytes);
    void end();
    const Stats& stats() const { return stats_; }
    // Bytes queued and not hashed yet (any thread; a snapshot).
    std::size_t backlog() const;

    // Hashing side, after end() (see the file comment): every hasher's digest, in add()
    // order. Idempotent (the first call hashes what is left, later ones return the same).
    std::vector<BodyDigest> finish() const;

    struct State;   // the hashers and the queue (dkim_body_hash.cpp)

private:
    void flush();
    void recycle();

    std::shared_ptr<State> state_;
    Post post_;
    Limits limits_;
    std::size_t hashers_ = 0;
    std::string batch_;
    bool ended_ = false;
    Stats stats_;
};

}  // namespace asmtpd::io::dkim
