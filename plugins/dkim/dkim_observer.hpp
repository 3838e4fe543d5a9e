// dkim_observer.hpp - the dkim plugin's view of a message as it streams in: it keeps the
// header block until the empty line, then parses the DKIM-Signature fields and feeds the body
// to one body hash per distinct (c= body, l=).
//
// What runs where (the loop is the bottleneck of a worker; see docs/architecture.md, "CPU
// thread"):
//   loop thread, content()/end(): the header split, parse_signature() (its d= and s= start
//     the key lookups at data_post_headers), and copying the body into batches. Cheap: no
//     canonicalization, no hashing.
//   CPU thread: the body canonicalization and SHA-256 (io::dkim::OffloadedBodyHash: a drain
//     job per 64 KB batch, through `post`, i.e. Context::post_to_cpu_thread), and finish():
//     the rest of the body hash and each signature's header hash input (signed_header_data),
//     called by the judging job (dkim.cpp), which runs after end() and after every drain job.
//   Past OffloadedBodyHash's backlog cap (256 KB queued) the loop hashes in place (see
//   core/io/dkim_body_hash.hpp), so memory stays bounded when a client outruns the thread.
// The hashing state is shared with the jobs (shared_ptr): the transaction may drop this
// observer (session closed mid-DATA) with jobs queued. Without `post` (tools, tests) the body
// is hashed on the caller, a batch at a time.
//
// The dkim plugin attaches one to the transaction at the data hook and reads its candidates
// at data_post_headers, after end(); the spool is never read again. Memory: the header block
// (capped at kMaxHeaderBytes; kept until the observer goes when it holds a signature to
// check), one batch, the hashing backlog, one line per hasher.
// Only the first max_signatures fields are evaluated; the others are counted (not_evaluated).
// No I/O, no logging (the plugin logs what it found).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/dkim_body_hash.hpp"
#include "core/proto/dkim_signature.hpp"
#include "hooks/context.hpp"
#include "hooks/transaction.hpp"
#include "plugins/common/header_collector.hpp"

namespace asmtpd::plugins::dkim {

// A header block bigger than this is not verified (permerror when it holds a signature).
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;

// The `post` for the observers of ctx's transaction: Context::post_to_cpu_thread while the
// session lives (after it, nothing is posted: nobody will read the hash).
io::dkim::OffloadedBodyHash::Post cpu_poster(hooks::Context& ctx);

// One DKIM-Signature field, ready to be judged once its key is known.
struct Candidate {
    std::optional<proto::dkim::Signature> signature;   // empty when the field did not parse
    std::string error;        // set: permerror without a key lookup (why)
    std::string header_data;  // what the header hash covers (signed_header_data); finish() only
    io::dkim::BodyDigest body;   // the body side for this signature's (c=, l=); finish() only
};

class DkimObserver final : public hooks::BodyObserver {
public:
    // owner: the plugin instance that attached it (several dkim instances may run).
    // post: runs a body hashing job on the CPU thread (empty: hash on the caller).
    DkimObserver(std::string owner, std::size_t max_signatures, io::dkim::OffloadedBodyHash::Post post = {});

    void content(std::string_view bytes) override;   // loop thread
    void end() override;                             // loop thread

    const std::string& owner() const { return owner_; }
    bool ended() const { return state_ == State::Ended; }
    // After end(): the signatures in header order (top first), at most max_signatures, as
    // parsed on the loop (header_data and body not filled in: see finish()).
    const std::vector<Candidate>& candidates() const { return candidates_; }
    // After end(), on the CPU thread in a job posted after end() (or anywhere when no job is
    // queued: tools, tests): candidates() with header_data and body filled in; a signature
    // whose header hash input cannot be built gets error "signature field has no b= tag".
    // The loop must not touch the observer meanwhile (it only reads candidates() and ended()).
    std::vector<Candidate> finish() const;
    // DKIM-Signature fields beyond max_signatures, not evaluated.
    std::size_t not_evaluated() const { return not_evaluated_; }
    // Distinct body hashers the message needed.
    std::size_t hashers() const { return body_.hashers(); }
    const io::dkim::OffloadedBodyHash& body_hash() const { return body_; }

private:
    enum class State { Header, Body, Ended };
    struct HasherKey {
        proto::dkim::Canon canon;
        std::optional<std::uint64_t> limit;
    };

    void header_done(std::string_view block);
    void keep_block();
    std::size_t hasher_for(const proto::dkim::Signature& sig);

    std::string owner_;
    std::size_t max_signatures_;
    State state_ = State::Header;
    HeaderCollector header_;                // the header block while it arrives
    std::string block_;                     // then, when a signature needs it, for finish()
    std::vector<Candidate> candidates_;
    std::vector<std::size_t> hasher_of_;    // candidates_[i]'s hasher (npos: none)
    std::vector<std::size_t> field_of_;     // candidates_[i]'s field in split_header_block(block_)
    std::vector<HasherKey> hasher_keys_;    // the (c=, l=) of each hasher of body_
    io::dkim::OffloadedBodyHash body_;
    std::size_t not_evaluated_ = 0;
};

}  // namespace asmtpd::plugins::dkim
