// cmd_starttls.cpp - STARTTLS (RFC 3207) and implicit TLS (smtps): pushing a TlsTransport onto
// the session's stream.
//
// Never: act on plaintext the client sent before the handshake (CVE-2011-0411): everything
// buffered after the STARTTLS line is thrown away before the switch. After the handshake the
// session forgets what the client told it in plaintext (HELO, transaction) and wants EHLO again.
#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

void Session::cmd_starttls(const proto::Command& c) {
    if (!runtime_->tls) {
        reply(502, "5.5.1", "Error: command not implemented");
        return;
    }
    if (tls_) {
        reply(503, "5.5.1", "Error: TLS already active");
        return;
    }
    if (!c.args.empty()) {
        reply(501, "5.5.4", "Syntax: STARTTLS");
        return;
    }
    if (txn_ && txn_->sender) {
        reply(503, "5.5.1", "Error: STARTTLS not allowed during a mail transaction");
        return;
    }
    reply(220, "2.0.0", "Ready to start TLS");
    flush();
    if (unread_input() > 0) log_.notice("discarding {} bytes sent before the TLS handshake", unread_input());
    in_.clear();
    in_pos_ = 0;
    start_tls(false);
}

void Session::start_tls(bool implicit) {
    if (!runtime_->tls) {
        close_session("smtps listener without a TLS context");
        return;
    }
    waiting_for_ = Wait::TlsHandshake;   // nothing is read as a command until the handshake is over
    auto tls = std::make_unique<io::TlsTransport>(
        loop_, std::move(transport_), runtime_->tls, io::TlsRole::Server,
        [this, implicit, alive = std::weak_ptr<const void>(alive_)](bool ok, std::string error) {
            if (alive.expired()) return;
            tls_ready(ok, error, implicit);
        });
    tls_ = tls.get();
    transport_ = std::move(tls);
    transport_->set_listener(this);
    reading_paused_ = false;
    handshake_timer_.start(runtime_->settings.timeouts.tls_handshake * 1000ull, [this] {
        close_session("TLS handshake timeout");
    });
}

void Session::tls_ready(bool ok, const std::string& error, bool implicit) {
    if (phase_ >= Phase::Closing) return;
    handshake_timer_.stop();
    waiting_for_ = Wait::Nothing;
    if (!ok) {
        log_.notice("TLS handshake failed: {}", error);
        close_session("TLS handshake failed");
        return;
    }
    info_.tls = true;
    info_.tls_version = tls_->version();
    info_.tls_cipher = tls_->cipher();
    log_.info("TLS {} {}{}", info_.tls_version, info_.tls_cipher,
              tls_->peer_certificate_subject().empty() ? "" : " client " + tls_->peer_certificate_subject());
    notes_["tls_peer_subject"] = tls_->peer_certificate_subject();
    notes_["tls_peer_verified"] = tls_->peer_certificate_verified() ? "1" : "0";
    if (implicit) {
        begin_dialogue();
        return;
    }
    // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
    reset_transaction();
    info_.hello = proto::Hello::None;
    info_.helo_host.clear();
    after_chain();
}

}  // namespace asmtpd::smtp
