// dkim_observer.cpp - header split, signature parsing and streaming body hashes for the
// dkim plugin. See dkim_observer.hpp (what runs on the loop, what on the CPU thread).
#include "plugins/dkim/dkim_observer.hpp"

#include "core/proto/dkim_header.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::plugins::dkim {

namespace pd = proto::dkim;

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Whether a header block that could not be split still names a DKIM-Signature field: then
// the message is signed and the result is permerror, else it is simply unsigned.
bool mentions_signature(std::string_view block) {
    const std::string lower = proto::to_lower(block);
    return lower.rfind("dkim-signature", 0) == 0 || lower.find("\ndkim-signature") != std::string::npos;
}

}  // namespace

io::dkim::OffloadedBodyHash::Post cpu_poster(hooks::Context& ctx) {
    return [c = &ctx, alive = ctx.lifetime()](std::function<void()> job) {
        if (!alive.expired()) c->post_to_cpu_thread(std::move(job));
    };
}

DkimObserver::DkimObserver(std::string owner, std::size_t max_signatures, io::dkim::OffloadedBodyHash::Post post)
    : owner_(std::move(owner)), max_signatures_(max_signatures), header_(kMaxHeaderBytes), body_(std::move(post)) {}

void DkimObserver::content(std::string_view bytes) {
    if (state_ == State::Body) return body_.feed(bytes);
    if (state_ != State::Header) return;
    const auto body = header_.feed(bytes);
    if (header_.state() == HeaderCollector::State::TooLarge) {
        if (mentions_signature(header_.held())) candidates_.push_back({std::nullopt, "header block too large", {}, {}});
        hasher_of_.resize(candidates_.size(), kNone);
        field_of_.resize(candidates_.size(), kNone);
        header_.release();
        state_ = State::Body;   // nothing to hash: the body is ignored
        return;
    }
    if (!body) return;
    header_done(header_.block());
    state_ = State::Body;
    body_.feed(*body);   // a view into `bytes`
    keep_block();
}

void DkimObserver::end() {
    if (state_ == State::Ended) return;
    if (state_ == State::Header) {   // no empty line: all of it is header, the body is empty
        header_.finish();
        header_done(header_.block());
        keep_block();
    }
    state_ = State::Ended;
    body_.end();
}

// The block stays only when finish() needs it (a signature to build the header input for).
void DkimObserver::keep_block() {
    if (body_.hashers() > 0)
        block_ = header_.take_block();
    else
        header_.release();
}

void DkimObserver::header_done(std::string_view block) {
    const pd::SplitHeader header = pd::split_header_block(block);
    if (!header.error.empty()) {
        // Nothing in a malformed block can be trusted to verify (as io::dkim::verify_message).
        if (mentions_signature(block)) candidates_.push_back({std::nullopt, header.error, {}, {}});
        hasher_of_.resize(candidates_.size(), kNone);
        field_of_.resize(candidates_.size(), kNone);
        return;
    }
    for (std::size_t f = 0; f < header.fields.size(); ++f) {
        const auto& field = header.fields[f];
        if (!proto::iequals(field.name, "DKIM-Signature")) continue;
        if (candidates_.size() >= max_signatures_) {
            ++not_evaluated_;
            continue;
        }
        Candidate c;
        std::size_t hasher = kNone;
        pd::ParsedSignature parsed = pd::parse_signature(field.value());
        if (!parsed.signature) {
            c.error = parsed.error;
        } else {
            c.signature = std::move(parsed.signature);
            hasher = hasher_for(*c.signature);
        }
        candidates_.push_back(std::move(c));
        hasher_of_.push_back(hasher);
        field_of_.push_back(f);
    }
}

std::size_t DkimObserver::hasher_for(const pd::Signature& sig) {
    for (std::size_t i = 0; i < hasher_keys_.size(); ++i)
        if (hasher_keys_[i].canon == sig.body_canon && hasher_keys_[i].limit == sig.body_length) return i;
    hasher_keys_.push_back({sig.body_canon, sig.body_length});
    return body_.add(sig.body_canon, sig.body_length);
}

std::vector<Candidate> DkimObserver::finish() const {
    std::vector<Candidate> out = candidates_;
    if (body_.hashers() == 0) return out;   // no signature parsed: nothing to prepare
    const std::vector<io::dkim::BodyDigest> digests = body_.finish();
    // The same split as header_done()'s (block_ is that block): field_of_ indexes it.
    const pd::SplitHeader header = pd::split_header_block(block_);
    for (std::size_t i = 0; i < out.size(); ++i) {
        Candidate& c = out[i];
        if (!c.error.empty() || hasher_of_[i] == kNone) continue;
        auto data = pd::signed_header_data(*c.signature, header.fields, header.fields[field_of_[i]]);
        if (!data) {
            c.error = "signature field has no b= tag";
            continue;
        }
        c.header_data = std::move(*data);
        c.body = digests[hasher_of_[i]];
    }
    return out;
}

}  // namespace asmtpd::plugins::dkim
