// sign_observer.cpp - header block and streaming body hash for signing (see sign_observer.hpp).
#include "plugins/dkim/sign_observer.hpp"

#include "plugins/dkim/dkim_observer.hpp"

namespace asmtpd::plugins::dkim {

SignObserver::SignObserver(std::string owner, proto::dkim::Canon body_canon, io::dkim::OffloadedBodyHash::Post post)
    : owner_(std::move(owner)), header_(kMaxHeaderBytes), body_(std::move(post)) {
    body_.add(body_canon, std::nullopt);
}

void SignObserver::content(std::string_view bytes) {
    if (ended_) return;
    switch (header_.state()) {
        case HeaderCollector::State::Collecting:
            if (auto body = header_.feed(bytes)) {
                body_.feed(*body);
            } else if (header_.state() == HeaderCollector::State::TooLarge) {
                header_.release();   // not signed: the body need not be hashed either
            }
            return;
        case HeaderCollector::State::Complete:
            body_.feed(bytes);
            return;
        case HeaderCollector::State::TooLarge:
            return;
    }
}

void SignObserver::end() {
    if (ended_) return;
    ended_ = true;
    header_.finish();
    body_.end();
}

std::optional<std::string_view> SignObserver::header_block() const {
    if (header_.state() != HeaderCollector::State::Complete) return std::nullopt;
    return header_.block();
}

}  // namespace asmtpd::plugins::dkim
