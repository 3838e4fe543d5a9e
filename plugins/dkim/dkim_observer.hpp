// dkim_observer.hpp - the dkim plugin's view of a message as it streams in: it keeps the
// header block until the empty line, then parses the DKIM-Signature fields, prepares each
// one's header hash input, and feeds the body to one BodyHasher per distinct (c= body, l=).
//
// The dkim plugin attaches one to the transaction at the data hook and reads its candidates
// at data_post_headers, after end(); the spool is never read again. Each call is cheap
// (the body costs one canonicalization and SHA-256 pass per hasher, at most max_signatures
// hashers); memory is the header block (capped at kMaxHeaderBytes) plus one line per hasher.
// Only the first max_signatures fields are evaluated; the others are counted (not_evaluated).
// Runs on the loop thread only; no I/O, no logging (the plugin logs what it found).
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
#include "hooks/transaction.hpp"
#include "plugins/dkim/header_collector.hpp"

namespace asmtpd::plugins::dkim {

// A header block bigger than this is not verified (permerror when it holds a signature).
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;

// One DKIM-Signature field, ready to be judged once its key is known.
struct Candidate {
    std::optional<proto::dkim::Signature> signature;   // empty when the field did not parse
    std::string error;        // set: permerror without a key lookup (why)
    std::string header_data;  // what the header hash covers (signed_header_data)
    io::dkim::BodyDigest body;   // the body side for this signature's (c=, l=)
};

class DkimObserver final : public hooks::BodyObserver {
public:
    // owner: the plugin instance that attached it (several dkim instances may run).
    DkimObserver(std::string owner, std::size_t max_signatures);

    void content(std::string_view bytes) override;
    void end() override;

    const std::string& owner() const { return owner_; }
    bool ended() const { return state_ == State::Ended; }
    // After end(): the signatures in header order (top first), at most max_signatures.
    const std::vector<Candidate>& candidates() const { return candidates_; }
    // DKIM-Signature fields beyond max_signatures, not evaluated.
    std::size_t not_evaluated() const { return not_evaluated_; }
    // Distinct body hashers the message needed.
    std::size_t hashers() const { return hashers_.size(); }

private:
    enum class State { Header, Body, Ended };
    struct Hashing {
        proto::dkim::Canon canon;
        std::optional<std::uint64_t> limit;
        std::unique_ptr<io::dkim::BodyHasher> hasher;
    };

    void header_done(std::string_view block);
    std::size_t hasher_for(const proto::dkim::Signature& sig);
    void feed_body(std::string_view bytes);

    std::string owner_;
    std::size_t max_signatures_;
    State state_ = State::Header;
    HeaderCollector header_;                // the header block while it arrives
    std::vector<Candidate> candidates_;
    std::vector<std::size_t> hasher_of_;    // candidates_[i]'s hasher (npos: none)
    std::vector<Hashing> hashers_;
    std::size_t not_evaluated_ = 0;
};

}  // namespace asmtpd::plugins::dkim
