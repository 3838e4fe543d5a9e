// dmarc_observer.cpp - header capture for the dmarc plugin. See dmarc_observer.hpp.
#include "plugins/dmarc/dmarc_observer.hpp"

namespace asmtpd::plugins::dmarc {

void DmarcObserver::content(std::string_view bytes) {
    if (header_.state() != HeaderCollector::State::Collecting) return;
    header_.feed(bytes);   // the body bytes that come with the block's end are not needed
    if (header_.state() == HeaderCollector::State::TooLarge) {
        header_.release();
        too_large_ = true;
    }
}

void DmarcObserver::end() {
    if (ended_) return;
    ended_ = true;
    header_.finish();
    if (!too_large_) authors_ = proto::author_domains(header_.block());
    header_.release();
}

}  // namespace asmtpd::plugins::dmarc
