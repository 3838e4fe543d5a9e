// sign_observer.hpp - the dkim plugin's signing side of a message as it streams in: it keeps
// the header block (what the signature's h= covers) and hashes the body with one BodyHasher
// (no l=), so the signature can be made at data_post without reading the spool.
//
// Attached at the data hook to the transactions of sessions whose mail we sign (relay
// clients, authenticated users); read at data_post, after end(). Memory: the header block
// (capped at kMaxHeaderBytes; beyond that the message is not signed) and one line of the body
// canonicalizer. Runs on the loop thread only; no I/O, no logging.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/io/dkim_body_hash.hpp"
#include "hooks/transaction.hpp"
#include "plugins/dkim/header_collector.hpp"

namespace asmtpd::plugins::dkim {

class SignObserver final : public hooks::BodyObserver {
public:
    // owner: the plugin instance that attached it. body_canon: the signature's c= body.
    SignObserver(std::string owner, proto::dkim::Canon body_canon);

    void content(std::string_view bytes) override;
    void end() override;

    const std::string& owner() const { return owner_; }
    bool ended() const { return body_.has_value(); }
    // After end(): the header lines, each with its CRLF; nullopt when the block was too large.
    std::optional<std::string_view> header_block() const;
    // After end(): the body hash and canonical length.
    const io::dkim::BodyDigest& body() const { return *body_; }

private:
    std::string owner_;
    HeaderCollector header_;
    io::dkim::BodyHasher hasher_;
    std::optional<io::dkim::BodyDigest> body_;   // set by end()
};

}  // namespace asmtpd::plugins::dkim
