// dkim_observer.cpp - header split, signature parsing and streaming body hashes for the
// dkim plugin. See dkim_observer.hpp.
#include "plugins/dkim/dkim_observer.hpp"

#include "core/proto/dkim_header.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::plugins::dkim {

namespace pd = proto::dkim;

namespace {

constexpr std::size_t kNoHasher = static_cast<std::size_t>(-1);

// Whether a header block that could not be split still names a DKIM-Signature field: then
// the message is signed and the result is permerror, else it is simply unsigned.
bool mentions_signature(std::string_view block) {
    const std::string lower = proto::to_lower(block);
    return lower.rfind("dkim-signature", 0) == 0 || lower.find("\ndkim-signature") != std::string::npos;
}

}  // namespace

DkimObserver::DkimObserver(std::string owner, std::size_t max_signatures)
    : owner_(std::move(owner)), max_signatures_(max_signatures), header_(kMaxHeaderBytes) {}

void DkimObserver::content(std::string_view bytes) {
    if (state_ == State::Body) return feed_body(bytes);
    if (state_ != State::Header) return;
    const auto body = header_.feed(bytes);
    if (header_.state() == HeaderCollector::State::TooLarge) {
        if (mentions_signature(header_.held())) candidates_.push_back({std::nullopt, "header block too large", {}, {}});
        hasher_of_.resize(candidates_.size(), kNoHasher);
        header_.release();
        state_ = State::Body;   // nothing to hash: the body is ignored
        return;
    }
    if (!body) return;
    header_done(header_.block());
    state_ = State::Body;
    feed_body(*body);
    header_.release();
}

void DkimObserver::end() {
    if (state_ == State::Ended) return;
    if (state_ == State::Header) {   // no empty line: all of it is header, the body is empty
        header_.finish();
        header_done(header_.block());
        header_.release();
    }
    state_ = State::Ended;
    std::vector<io::dkim::BodyDigest> digests;
    for (auto& h : hashers_) digests.push_back(h.hasher->finish());
    for (std::size_t i = 0; i < candidates_.size(); ++i)
        if (hasher_of_[i] != kNoHasher) candidates_[i].body = digests[hasher_of_[i]];
    hashers_.clear();
}

void DkimObserver::header_done(std::string_view block) {
    const pd::SplitHeader header = pd::split_header_block(block);
    if (!header.error.empty()) {
        // Nothing in a malformed block can be trusted to verify (as io::dkim::verify_message).
        if (mentions_signature(block)) candidates_.push_back({std::nullopt, header.error, {}, {}});
        hasher_of_.resize(candidates_.size(), kNoHasher);
        return;
    }
    for (const auto& field : header.fields) {
        if (!proto::iequals(field.name, "DKIM-Signature")) continue;
        if (candidates_.size() >= max_signatures_) {
            ++not_evaluated_;
            continue;
        }
        Candidate c;
        std::size_t hasher = kNoHasher;
        pd::ParsedSignature parsed = pd::parse_signature(field.value());
        if (!parsed.signature) {
            c.error = parsed.error;
        } else if (auto data = pd::signed_header_data(*parsed.signature, header.fields, field); !data) {
            c.error = "signature field has no b= tag";
            c.signature = std::move(parsed.signature);
        } else {
            c.header_data = std::move(*data);
            c.signature = std::move(parsed.signature);
            hasher = hasher_for(*c.signature);
        }
        candidates_.push_back(std::move(c));
        hasher_of_.push_back(hasher);
    }
}

std::size_t DkimObserver::hasher_for(const pd::Signature& sig) {
    for (std::size_t i = 0; i < hashers_.size(); ++i)
        if (hashers_[i].canon == sig.body_canon && hashers_[i].limit == sig.body_length) return i;
    hashers_.push_back({sig.body_canon, sig.body_length,
                        std::make_unique<io::dkim::BodyHasher>(sig.body_canon, sig.body_length)});
    return hashers_.size() - 1;
}

void DkimObserver::feed_body(std::string_view bytes) {
    if (bytes.empty()) return;
    for (auto& h : hashers_) h.hasher->feed(bytes);
}

}  // namespace asmtpd::plugins::dkim
