// dmarc_observer.cpp - header capture for the dmarc plugin. See dmarc_observer.hpp.
#include "plugins/dmarc/dmarc_observer.hpp"

namespace asmtpd::plugins::dmarc {

void DmarcObserver::content(std::string_view bytes) {
    if (header_done_) return;
    // The empty line may straddle chunks: search from 3 bytes before the new ones.
    const std::size_t from = header_.size() >= 3 ? header_.size() - 3 : 0;
    header_.append(bytes);
    if (header_.size() >= 2 && header_[0] == '\r' && header_[1] == '\n') {
        header_.clear();   // no header at all
        header_done_ = true;
        return;
    }
    if (auto at = header_.find("\r\n\r\n", from); at != std::string::npos) {
        header_.resize(at + 2);
        header_done_ = true;
        return;
    }
    if (header_.size() > kMaxHeaderBytes) {
        header_ = std::string();
        too_large_ = header_done_ = true;
    }
}

void DmarcObserver::end() {
    if (ended_) return;
    ended_ = header_done_ = true;
    if (!too_large_) authors_ = proto::author_domains(header_);
    header_ = std::string();
}

}  // namespace asmtpd::plugins::dmarc
