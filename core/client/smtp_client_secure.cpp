// smtp_client_secure.cpp - what an EHLO/LHLO reply offers, then STARTTLS (RFC 3207) and AUTH
// PLAIN/LOGIN (RFC 4954, 4616) between EHLO and the first transaction of a next-hop
// connection (see smtp_client.hpp, next_hop.hpp's ClientSecurity).
//
// Order: EHLO -> STARTTLS when configured and offered -> handshake (certificate checked when
// tls_verify) -> EHLO again (RFC 3207 §4.2: everything learnt before is forgotten) -> AUTH
// when auth_user is set -> ready. Every failure ends the connection set-up with Failure::Tls or
// Failure::Auth (the queue plugin answers 4xx; nothing of a message was sent).
// Must never: send AUTH without TLS unless auth_plaintext; put the password in a log line;
// accept plaintext that arrived after the 220 to STARTTLS but before the handshake (RFC 3207
// §5 command injection); fall back to plaintext on the same connection after a failed handshake
// (it is unusable), or at all unless the level is Postfix's may (opportunistic without
// tls_verify): then, and only then, the pool retries once over a new connection without
// STARTTLS, as Postfix does (an attacker can strip TLS from an unverified level anyway).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/client/smtp_client.hpp"
#include "core/io/tls.hpp"
#include "core/proto/sasl.hpp"

namespace asmtpd::client {

namespace {

bool offers(const std::string& list, std::string_view mech) {
    std::size_t pos = 0;
    while (pos < list.size()) {
        while (pos < list.size() && list[pos] == ' ') ++pos;
        const std::size_t end = std::min(list.find(' ', pos), list.size());
        if (std::string_view(list).substr(pos, end - pos) == mech) return true;
        pos = end;
    }
    return false;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

void ClientConnection::read_offer(const proto::Reply& r) {
    pipelining_ = size_ = eightbit_ = smtputf8_ = starttls_ = dsn_ = false;
    auth_offer_.clear();
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        const std::string word = upper(r.lines[i].substr(0, r.lines[i].find(' ')));
        if (word == "PIPELINING") pipelining_ = true;
        else if (word == "SIZE") size_ = true;
        else if (word == "8BITMIME") eightbit_ = true;
        else if (word == "SMTPUTF8") smtputf8_ = true;
        else if (word == "STARTTLS") starttls_ = true;
        else if (word == "DSN") dsn_ = true;
        else if (word == "AUTH" || word.rfind("AUTH=", 0) == 0)   // "AUTH=" is the pre-RFC 4954 form
            auth_offer_ += " " + upper(r.lines[i].substr(std::min(r.lines[i].size(), std::size_t{5})));
    }
}

void ClientConnection::after_hello() {
    const ClientSecurity& sec = config_.security;
    if (sec.tls != TlsMode::None && !tls_ && plaintext_retry_) {
        log_.info("next hop {} #{}: plaintext retry after a failed TLS handshake (tls may): no STARTTLS",
                  config_.hop.describe(), id_);
    } else if (sec.tls != TlsMode::None && !tls_) {
        if (starttls_) {
            send("STARTTLS", Wait::StartTls);
            return;
        }
        if (sec.tls == TlsMode::Required)
            return fail(Failure::Tls, "next hop does not offer STARTTLS (tls required)");
        log_.info("next hop {} #{} does not offer STARTTLS: continuing without TLS (tls opportunistic)",
                  config_.hop.describe(), id_);
    }
    if (sec.wants_auth() && !authenticated_) return start_auth();
    ready();
}

void ClientConnection::start_auth() {
    const ClientSecurity& sec = config_.security;
    if (!tls_ && !sec.auth_plaintext)
        return fail(Failure::Auth, "not sending AUTH over a connection without TLS (auth_plaintext no)");
    auth_step_ = 0;
    if (offers(auth_offer_, "PLAIN")) {
        std::string resp = proto::base64_encode(std::string(1, '\0') + sec.auth_user + '\0' + sec.auth_pass);
        send("AUTH PLAIN " + resp, Wait::Auth, "AUTH PLAIN (credentials of " + sec.auth_user + ")");
        return;
    }
    if (offers(auth_offer_, "LOGIN")) {
        send("AUTH LOGIN", Wait::Auth);
        return;
    }
    fail(Failure::Auth, auth_offer_.empty() ? std::string("next hop does not offer AUTH")
                                            : "next hop offers neither AUTH PLAIN nor LOGIN (offers" + auth_offer_ + ")");
}

void ClientConnection::on_secure_reply(Wait w, proto::Reply r) {
    const ClientSecurity& sec = config_.security;
    if (w == Wait::StartTls) {
        if (r.code != 220) {
            if (sec.tls == TlsMode::Required) {
                report_.refusal = r;
                return fail(Failure::Tls, "next hop refused STARTTLS: " + r.summary());
            }
            log_.info("next hop {} #{} refused STARTTLS ({}): continuing without TLS (tls opportunistic)",
                      config_.hop.describe(), id_, r.summary());
            if (sec.wants_auth()) return start_auth();
            return ready();
        }
        if (parser_.buffered() > 0)
            return fail(Failure::Tls, "next hop sent data after its 220 to STARTTLS (RFC 3207 §5): not using it");
        std::weak_ptr<ClientConnection> weak = weak_from_this();
        transport_->set_listener(nullptr);
        auto tls = std::make_unique<io::TlsTransport>(
            loop_, std::move(transport_), sec.context, io::TlsRole::Client,
            [weak](bool ok, std::string why) {
                if (auto me = weak.lock()) me->on_handshake(ok, std::move(why));
            },
            sec.tls_name);
        tls_ = tls.get();
        transport_ = std::move(tls);
        transport_->set_listener(this);
        waits_.push_back(Wait::Handshake);   // for the deadline: command_ms
        arm_timer();
        return;
    }
    // AUTH.
    if (r.code == 235) {
        authenticated_ = true;
        log_.info("next hop {} #{} accepted AUTH as {}", config_.hop.describe(), id_, sec.auth_user);
        return ready();
    }
    if (r.code == 334 && !offers(auth_offer_, "PLAIN") && auth_step_ < 2) {
        // LOGIN: the user, then the password (the prompts' texts vary; their order does not).
        ++auth_step_;
        if (auth_step_ == 1) send(proto::base64_encode(sec.auth_user), Wait::Auth, "(AUTH LOGIN user)");
        else send(proto::base64_encode(sec.auth_pass), Wait::Auth, "(AUTH LOGIN password)");
        return;
    }
    report_.refusal = r;
    if (r.code == 334) {
        // Cancel the exchange (RFC 4954 §4) before giving up; the connection closes anyway.
        transport_->write("*\r\n");
        return fail(Failure::Auth, "next hop asked for more than the credentials: " + r.summary());
    }
    fail(Failure::Auth, fmt::format("next hop refused AUTH {} for {}: {}", offers(auth_offer_, "PLAIN") ? "PLAIN" : "LOGIN",
                                    sec.auth_user, r.summary()));
}

void ClientConnection::on_handshake(bool ok, std::string error) {
    auto self = shared_from_this();
    if (phase_ != Phase::Setup) return;
    if (!ok) return handshake_failed("STARTTLS with " + config_.security.tls_name + ": " + error);
    if (waits_.empty() || waits_.front() != Wait::Handshake) {
        fail(Failure::Protocol, "reply stream out of step after the TLS handshake");
        return;
    }
    waits_.pop_front();
    log_.info("next hop {} #{} TLS {} {} (certificate {}{})", config_.hop.describe(), id_, tls_->version(),
              tls_->cipher(), tls_->peer_certificate_verified() ? "verified" : "not verified",
              config_.security.verify ? " for " + config_.security.tls_name : "");
    parser_.clear();
    send("EHLO " + helo_name_, Wait::Ehlo);
}

void ClientConnection::handshake_failed(std::string error) {
    if (config_.security.plaintext_fallback() && !plaintext_retry_) {
        retry_plaintext_ = true;
        log_.info("next hop {} #{}: TLS handshake failed at the may level (tls opportunistic, tls_verify no): "
                  "retrying once over a new plaintext connection", config_.hop.describe(), id_);
    }
    fail(Failure::Tls, std::move(error));
}

}  // namespace asmtpd::client
