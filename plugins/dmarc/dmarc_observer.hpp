// dmarc_observer.hpp - the dmarc plugin's view of a message as it streams in: it keeps the
// header block (up to the empty line, at most kMaxHeaderBytes) and, after the final dot,
// the Author Domains found in it (core/proto/from_header: author_domains). It also carries
// the plugin's decision from data_post_headers to data_post (the refusal, if any), so that
// per-message state lives in the transaction, never in the shared plugin object.
// Runs on the loop thread only; no I/O, no logging.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/from_header.hpp"
#include "hooks/transaction.hpp"
#include "plugins/common/header_collector.hpp"

namespace asmtpd::plugins::dmarc {

inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;

// What data_post does, decided at data_post_headers.
struct Refusal {
    bool temporary = false;    // a temperror: only refused when reject_type defers
    std::string reply;         // the reply text
    std::string log;           // why, for the log line of RejectPolicy::apply
};

class DmarcObserver final : public hooks::BodyObserver {
public:
    explicit DmarcObserver(std::string owner) : owner_(std::move(owner)) {}

    void content(std::string_view bytes) override;
    void end() override;

    const std::string& owner() const { return owner_; }
    bool ended() const { return ended_; }
    bool too_large() const { return too_large_; }
    // After end(): the Author Domains, or the problem.
    const proto::Authors& authors() const { return authors_; }

    std::optional<Refusal> refusal;   // set at data_post_headers, acted on at data_post

private:
    std::string owner_;
    HeaderCollector header_{kMaxHeaderBytes};
    bool too_large_ = false, ended_ = false;
    proto::Authors authors_;
};

}  // namespace asmtpd::plugins::dmarc
