// sign_observer.hpp - the dkim plugin's signing side of a message as it streams in: it keeps
// the header block (what the signature's h= covers) and hashes the body with one hasher (no
// l=), so the signature can be made at data_post without reading the spool.
//
// Attached at the data hook to the transactions of sessions whose mail we sign (relay
// clients, authenticated users); read at data_post, after end(). Memory: the header block
// (capped at kMaxHeaderBytes; beyond that the message is not signed), one batch and the
// hashing backlog (io::dkim::OffloadedBodyHash), one line of the body canonicalizer.
// As the verifier's observer (dkim_observer.hpp): content() and end() run on the loop and only
// collect the header and copy the body into batches; the canonicalization and SHA-256 run on
// the CPU thread through `post`, and body() is called by the signing job there. No I/O, no
// logging.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/io/dkim_body_hash.hpp"
#include "hooks/transaction.hpp"
#include "plugins/common/header_collector.hpp"

namespace asmtpd::plugins::dkim {

class SignObserver final : public hooks::BodyObserver {
public:
    // owner: the plugin instance that attached it. body_canon: the signature's c= body.
    // post: runs a body hashing job on the CPU thread (empty: hash on the caller).
    SignObserver(std::string owner, proto::dkim::Canon body_canon, io::dkim::OffloadedBodyHash::Post post = {});

    void content(std::string_view bytes) override;
    void end() override;

    const std::string& owner() const { return owner_; }
    bool ended() const { return ended_; }
    // After end(): the header lines, each with its CRLF; nullopt when the block was too large.
    std::optional<std::string_view> header_block() const;
    // After end(), in a CPU thread job posted after end() (or anywhere when no job is queued):
    // the body hash and canonical length.
    io::dkim::BodyDigest body() const { return body_.finish().front(); }

private:
    std::string owner_;
    HeaderCollector header_;
    io::dkim::OffloadedBodyHash body_;
    bool ended_ = false;
};

}  // namespace asmtpd::plugins::dkim
