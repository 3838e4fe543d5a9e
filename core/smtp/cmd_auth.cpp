// cmd_auth.cpp - AUTH (RFC 4954) with PLAIN, LOGIN and CRAM-MD5: the SASL exchange, then the
// mechanism's hook (auth_plain ...) and, if every plugin there declined, the generic auth hook
// (qpsmtpd's order). Accepted credentials then go through auth_post (qmail-spp's [auth]) with
// SMTPAUTHUSER/SMTPAUTHMETHOD set; only its DECLINED/OK authenticate the session (235).
// Plugins decide; the session only decodes and keeps the state.
//
// Never: log a password or a response line; offer AUTH outside TLS when tls_before_auth is on;
// let failures go on without limit (the server counts them per client IP).
#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>

#include "core/io/crypto.hpp"
#include "core/smtp/session.hpp"
#include "plugins/common/relay_client.hpp"

namespace asmtpd::smtp {

namespace {
hooks::Hook hook_for(proto::SaslMechanism m) {
    switch (m) {
        case proto::SaslMechanism::Plain: return hooks::Hook::AuthPlain;
        case proto::SaslMechanism::Login: return hooks::Hook::AuthLogin;
        case proto::SaslMechanism::CramMd5: return hooks::Hook::AuthCramMd5;
    }
    return hooks::Hook::Auth;
}
}  // namespace

bool Session::auth_offered() const {
    const auto& r = *runtime_->registry;
    bool any = r.has(hooks::Hook::Auth) || r.has(hooks::Hook::AuthPlain) || r.has(hooks::Hook::AuthLogin) ||
               r.has(hooks::Hook::AuthCramMd5);
    return any && info_.auth_user.empty() && (tls_ || !runtime_->settings.tls_before_auth);
}

std::string Session::auth_mechanisms() const {
    const auto& r = *runtime_->registry;
    const bool generic = r.has(hooks::Hook::Auth);
    std::string out;
    auto add = [&](hooks::Hook h, std::string_view name) {
        if (generic || r.has(h)) out += (out.empty() ? "" : " ") + std::string(name);
    };
    add(hooks::Hook::AuthPlain, "PLAIN");
    add(hooks::Hook::AuthLogin, "LOGIN");
    add(hooks::Hook::AuthCramMd5, "CRAM-MD5");
    return out;
}

void Session::cmd_auth(const proto::Command& c) {
    const auto& r = *runtime_->registry;
    if (!(r.has(hooks::Hook::Auth) || r.has(hooks::Hook::AuthPlain) || r.has(hooks::Hook::AuthLogin) ||
          r.has(hooks::Hook::AuthCramMd5))) {
        reply(502, "5.5.1", "Error: command not implemented");
        return;
    }
    if (info_.hello != proto::Hello::Ehlo) {
        reply(503, "5.5.1", "Error: send EHLO first");
        return;
    }
    if (!info_.auth_user.empty()) {
        reply(503, "5.5.1", "Error: already authenticated");
        return;
    }
    if (txn_ && txn_->sender) {
        reply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction");
        return;
    }
    if (!tls_ && runtime_->settings.tls_before_auth) {
        reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
        return;
    }
    std::string_view args = c.args;
    auto sp = args.find(' ');
    std::string_view mech_name = args.substr(0, sp);
    std::string_view initial = sp == std::string_view::npos ? std::string_view{} : args.substr(sp + 1);
    auto mech = proto::parse_sasl_mechanism(mech_name);
    if (!mech || auth_mechanisms().find(std::string(proto::to_string(*mech))) == std::string::npos) {
        reply(504, "5.5.4", "Unrecognized authentication type");
        return;
    }
    std::optional<std::string> first;
    if (sp != std::string_view::npos) {
        if (*mech == proto::SaslMechanism::CramMd5) {
            reply(501, "5.5.4", "CRAM-MD5 takes no initial response");
            return;
        }
        auto d = proto::decode_initial_response(initial);
        if (!d) {
            reply(d.error());
            return;
        }
        first = std::move(*d);
    }
    lines_.set_max(std::max<std::size_t>(runtime_->settings.limits.line_length, proto::kSaslMaxLine));
    switch (*mech) {
        case proto::SaslMechanism::Plain:
            if (first) {
                auth_plain(*first);
                return;
            }
            auth_ = AuthExchange{*mech, 0, {}, {}};
            reply(334, "", "");
            return;
        case proto::SaslMechanism::Login:
            auth_ = AuthExchange{*mech, 0, {}, {}};
            if (first) {
                auth_login_user(*first);
                return;
            }
            reply(334, "", "VXNlcm5hbWU6");
            return;
        case proto::SaslMechanism::CramMd5: {
            auto rnd = io::random_digits(12);
            if (!rnd) {
                auth_stop();
                reply(454, "4.7.0", "Temporary authentication failure");
                return;
            }
            auth_ = AuthExchange{*mech, 0, {}, proto::cram_md5_challenge(*rnd, static_cast<std::uint64_t>(std::time(nullptr)),
                                                                         runtime_->facts.hostname)};
            reply(334, "", proto::base64_encode(auth_->challenge));
            return;
        }
    }
}

void Session::auth_stop() {
    auth_.reset();
    lines_.set_max(runtime_->settings.limits.line_length);
}

void Session::auth_plain(std::string_view decoded) {
    auth_stop();
    auto creds = proto::parse_plain(decoded);
    if (!creds) {
        reply(creds.error());
        return;
    }
    auth_decide(proto::SaslMechanism::Plain, creds->authcid, creds->password, {});
}

void Session::auth_login_user(std::string_view decoded) {
    auto user = proto::parse_login_user(decoded);
    if (!user) {
        auth_stop();
        reply(user.error());
        return;
    }
    auth_->user = *user;
    auth_->step = 1;
    reply(334, "", "UGFzc3dvcmQ6");
}

void Session::auth_line(std::string_view line) {
    AuthExchange ex = *auth_;
    auto decoded = proto::decode_response(line);
    if (!decoded) {
        auth_stop();
        reply(decoded.error());
        return;
    }
    switch (ex.mech) {
        case proto::SaslMechanism::Plain:
            auth_plain(*decoded);
            return;
        case proto::SaslMechanism::Login: {
            if (ex.step == 0) {
                auth_login_user(*decoded);
                return;
            }
            auth_stop();
            auto pass = proto::parse_login_password(*decoded);
            if (!pass) {
                reply(pass.error());
                return;
            }
            auth_decide(ex.mech, ex.user, *pass, {});
            return;
        }
        case proto::SaslMechanism::CramMd5: {
            auth_stop();
            auto resp = proto::parse_cram_md5(*decoded);
            if (!resp) {
                reply(resp.error());
                return;
            }
            auth_decide(ex.mech, resp->user, resp->digest, ex.challenge);
            return;
        }
    }
}

void Session::auth_decide(proto::SaslMechanism mech, std::string user, std::string secret, std::string ticket) {
    hooks::AuthArgs args{std::string(proto::to_string(mech)), user, std::move(secret), std::move(ticket)};
    auto decide = [this, mech, user](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action == hooks::Action::Proceed) {
            // The credentials are good: auth_post (qmail-spp's [auth]) may still refuse them.
            // The qmail environment of a login (SMTPAUTHUSER ...) is the spp plugin's and the
            // child environment's business (plugins/), built from auth_user/auth_method.
            std::string method(proto::to_string(mech));
            for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            run_chain(hooks::Hook::AuthPost, hooks::AuthArgs{std::string(proto::to_string(mech)), user, {}, {}},
                      [this, mech, user, method](const hooks::Verdict&, const hooks::Disposition& pd) {
                          if (pd.action != hooks::Action::Proceed) {
                              // Not counted as a failure: the password was right.
                              log_.notice("AUTH {} for {} from {} refused at auth_post", proto::to_string(mech), user,
                                          info_.remote_ip);
                              handle_refusal(pd);
                              return;
                          }
                          info_.auth_user = user;
                          info_.auth_method = method;
                          info_.relay_client = true;
                          // relayclient = "": no RELAYCLIENT suffix from now on (qmail's AUTH).
                          plugins::note_relay_client_auth(notes_);
                          log_.info("AUTH {} succeeded for {}", proto::to_string(mech), user);
                          reply(235, "2.7.0", "Authentication successful");
                      });
            return;
        }
        log_.notice("AUTH {} failed for {} from {}", proto::to_string(mech), user, info_.remote_ip);
        if (owner_.auth_failed(info_.remote_ip)) {
            reply(421, "4.7.0", runtime_->facts.hostname + " Error: too many authentication failures");
            close_session("too many AUTH failures");
            return;
        }
        handle_refusal(d);
    };
    const hooks::Hook specific = hook_for(mech);
    hooks::AuthArgs generic_args = args;
    run_chain(specific, std::move(args),
              [this, decide, generic_args = std::move(generic_args)](const hooks::Verdict& v,
                                                                     const hooks::Disposition& d) mutable {
                  if (v.result != hooks::Result::Declined) {
                      decide(v, d);
                      return;
                  }
                  run_chain(hooks::Hook::Auth, std::move(generic_args), decide);
              });
}

}  // namespace asmtpd::smtp
