// cmd_envelope.cpp - MAIL, RCPT and RSET: sequence checks, the mail_pre/mail and
// rcpt_pre/rcpt chains, ESMTP parameters, recipient limits.
//
// Order for MAIL (and likewise RCPT): sequence check -> argument syntax -> *_pre chain (which
// may rewrite the path) -> path grammar and parameters -> mail chain -> 250. The address is
// validated before any plugin other than *_pre sees it (RELIABILITY P8). An accepted recipient
// gets qmail's RELAYCLIENT suffix, then the rcpt_post chain (qmail-spp [pass]), then 250.
// DSN (RFC 3461): RET/ENVID on MAIL and NOTIFY/ORCPT on RCPT are validated here (core/proto/
// dsn.hpp), kept in mail_params / recipient_params, and shown in the "mail from"/"rcpt to"
// log lines in their normal form.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/proto/dsn.hpp"
#include "core/smtp/session.hpp"
#include "plugins/common/relay_client.hpp"

namespace asmtpd::smtp {

namespace {
bool all_digits(std::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}
}  // namespace

void Session::cmd_mail(const proto::Command& c) {
    auto parsed = proto::parse_mail_args(c.args);
    if (!parsed) {
        reply(parsed.error());
        return;
    }
    // RFC 5321 §4.1.1.11 / RFC 1869 §6: a client that greeted with HELO was offered no
    // extension, so any ESMTP parameter is one we do not implement for it.
    if (info_.hello == proto::Hello::Helo && !parsed->params.empty()) {
        reply(555, "5.5.4", fmt::format("Parameter {} needs EHLO", parsed->params.front().keyword));
        return;
    }
    // The hook's copy first: the order in which a call's arguments are made is unspecified, and
    // the callback's capture moves the path out (the handlers saw an empty path).
    hooks::PathArgs args{parsed->path, parsed->params};
    run_chain(hooks::Hook::MailPre, std::move(args),
              [this, p = std::move(*parsed)](const hooks::Verdict& v, const hooks::Disposition& d) mutable {
                  if (handle_refusal(d)) return;
                  rewrite_path(v, p);
                  mail_after_pre(std::move(p));
              });
}

void Session::mail_after_pre(proto::PathArgs p) {
    const auto& facts = runtime_->facts;
    bool utf8 = false;
    std::optional<std::uint64_t> size;
    for (const auto& param : p.params) {
        if (param.keyword == "SIZE") {
            std::uint64_t n = 0;
            if (!param.value || !all_digits(*param.value) ||
                std::from_chars(param.value->data(), param.value->data() + param.value->size(), n).ec != std::errc()) {
                reply(501, "5.5.4", "Syntax error in SIZE parameter");
                return;
            }
            size = n;
        } else if (param.keyword == "BODY") {
            if (!param.value || (*param.value != "7BIT" && *param.value != "8BITMIME" &&
                                 *param.value != "7bit" && *param.value != "8bitmime")) {
                reply(501, "5.5.4", "Unsupported BODY parameter");
                return;
            }
        } else if (param.keyword == "SMTPUTF8") {
            if (param.value) {
                reply(501, "5.5.4", "SMTPUTF8 takes no value");
                return;
            }
            utf8 = true;
        } else if (param.keyword == "RET" || param.keyword == "ENVID") {
            continue;   // DSN: checked together below
        } else if (param.keyword == "AUTH") {
            // RFC 4954 §5: accepted and ignored unless the session is authenticated; it must
            // still be valid xtext so it can never smuggle a CR/LF anywhere.
            if (!param.value || !proto::decode_xtext(*param.value)) {
                reply(501, "5.5.4", "Syntax error in AUTH parameter");
                return;
            }
        } else {
            reply(555, "5.5.4", fmt::format("Unsupported parameter {}", param.keyword));
            return;
        }
    }
    auto dsn = proto::dsn_mail_params(p.params);
    if (!dsn) {
        reply(dsn.error());
        return;
    }
    if (size && facts.databytes > 0 && *size > facts.databytes) {
        reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
        return;
    }
    if (auto* fs = owner_.free_space()) {
        // RFC 1870 §6.1: a SIZE that does not fit now is a temporary failure, as is a full disk.
        if (auto full = fs->short_of_space(runtime_->storage_paths, runtime_->min_free_space, size.value_or(0))) {
            log_.warn("MAIL refused: {} is below limits.min_free_space", *full);
            reply(452, "4.3.1", "Error: insufficient system storage");
            return;
        }
    }
    proto::AddressRules rules;
    rules.allow_null = true;
    rules.allow_utf8 = utf8;
    auto addr = proto::parse_path(p.path, rules);
    if (!addr) {
        reply(addr.error());
        return;
    }
    txn_.emplace();
    txn_->number = ++txn_count_;
    txn_->id = fmt::format("{:016x}.{}", info_.id, txn_->number);
    txn_->mail_params = p.params;
    run_chain(hooks::Hook::Mail, hooks::AddressArgs{*addr, p.params},
              [this, original = *addr, dsn_text = proto::format_dsn_mail(*dsn)](const hooks::Verdict& v,
                                                                                const hooks::Disposition& d) {
                  if (d.action != hooks::Action::Proceed) {
                      refuse_transaction(d);
                      return;
                  }
                  if (!txn_) return;
                  proto::Address a = v.address.value_or(original);
                  txn_->sender = a;
                  log_.info("mail from {}{}", a.format(), dsn_text);
                  reply(250, "2.1.0", fmt::format("{}, sender OK", a.format()));
              });
}

// mail_pre / rcpt_pre: qpsmtpd's OK with "<new@path>" as text, or a parsed address in the
// verdict, replaces the path the client wrote before it is parsed.
void Session::rewrite_path(const hooks::Verdict& v, proto::PathArgs& p) {
    if (v.address) p.path = v.address->format();
    else if (v.result == hooks::Result::Ok && !v.text.empty()) p.path = v.text;
}

void Session::cmd_rcpt(const proto::Command& c) {
    auto parsed = proto::parse_rcpt_args(c.args);
    if (!parsed) {
        reply(parsed.error());
        return;
    }
    if (txn_->recipients.size() >= runtime_->settings.limits.max_rcpts) {
        reply(452, "4.5.3", "Error: too many recipients");
        return;
    }
    // The hook's copy first: the order in which a call's arguments are made is unspecified, and
    // the callback's capture moves the path out (the handlers saw an empty path).
    hooks::PathArgs args{parsed->path, parsed->params};
    run_chain(hooks::Hook::RcptPre, std::move(args),
              [this, p = std::move(*parsed)](const hooks::Verdict& v, const hooks::Disposition& d) mutable {
                  if (handle_refusal(d)) return;
                  rewrite_path(v, p);
                  rcpt_after_pre(std::move(p));
              });
}

void Session::rcpt_after_pre(proto::PathArgs p) {
    if (!txn_) return;
    for (const auto& param : p.params) {
        // RFC 1869 §6: only extensions EHLO offered (DSN's two) are parameters we implement.
        if ((param.keyword != "NOTIFY" && param.keyword != "ORCPT") || info_.hello == proto::Hello::Helo) {
            reply(555, "5.5.4", fmt::format("Unsupported parameter {}", param.keyword));
            return;
        }
    }
    auto dsn = proto::dsn_rcpt_params(p.params);
    if (!dsn) {
        reply(dsn.error());
        return;
    }
    proto::AddressRules rules;
    rules.allow_null = false;
    rules.allow_bare_postmaster = true;
    rules.allow_utf8 = txn_->mail_params.end() !=
                       std::find_if(txn_->mail_params.begin(), txn_->mail_params.end(),
                                    [](const proto::EsmtpParam& e) { return e.keyword == "SMTPUTF8"; });
    rules.recipient = true;
    auto addr = proto::parse_path(p.path, rules);
    if (!addr) {
        reply(addr.error());
        return;
    }
    run_chain(hooks::Hook::Rcpt, hooks::AddressArgs{*addr, p.params},
              [this, original = *addr, params = p.params, dsn_text = proto::format_dsn_rcpt(*dsn)](
                  const hooks::Verdict& v, const hooks::Disposition& d) {
                  proto::Address a = v.address.value_or(original);
                  if (handle_refusal(d)) return;
                  if (!txn_) return;
                  // qmail-smtpd: a relay client's RELAYCLIENT value is appended to the
                  // (possibly spp-"C"-changed) address of every accepted recipient.
                  if (auto suffix = plugins::relay_suffix(info_, notes_); suffix && !suffix->empty()) {
                      auto with = plugins::append_relay_suffix(a, *suffix);
                      if (!with) {
                          log_.warn("rcpt {}: RELAYCLIENT suffix '{}' gives no valid address", a.format(), *suffix);
                          reply(451, "4.3.0", "Recipient address rewrite failed");
                          return;
                      }
                      a = std::move(*with);
                  }
                  txn_->recipients.push_back(a);
                  auto accept = [this, params, dsn_text](const proto::Address& stored) {
                      if (!params.empty()) txn_->recipient_params.push_back({stored, params});
                      log_.info("rcpt to {}{}", stored.format(), dsn_text);
                      reply(250, "2.1.5", fmt::format("{}, recipient ok", stored.format()));
                  };
                  if (!runtime_->registry->has(hooks::Hook::RcptPost)) return accept(a);
                  // The recipient is in the envelope already, so the transaction counts it (as
                  // qmail-spp's [pass] wants SMTPRCPTCOUNT). A rcpt_post refusal takes it out
                  // again: the client gets one reply and the envelope always matches it.
                  run_chain(hooks::Hook::RcptPost, hooks::AddressArgs{a, {}},
                            [this, accept, count = txn_->recipients.size()](const hooks::Verdict& pv,
                                                                             const hooks::Disposition& pd) {
                                const std::optional<proto::Address>& changed = pv.address;
                                // One command at a time: only a misbehaving plugin (through
                                // Context::transaction()) can have changed the envelope meanwhile.
                                if (!txn_ || txn_->recipients.size() != count) {
                                    log_.error("rcpt_post: the envelope changed under the chain");
                                    reply(451, "4.3.0", "Internal error");
                                    return;
                                }
                                if (pd.action != hooks::Action::Proceed) {
                                    log_.info("rcpt to {} withdrawn at rcpt_post", txn_->recipients.back().format());
                                    txn_->recipients.pop_back();
                                    handle_refusal(pd);
                                    return;
                                }
                                if (changed) txn_->recipients.back() = *changed;
                                accept(txn_->recipients.back());
                            });
              });
}

void Session::cmd_rset(const proto::Command&) {
    reset_transaction("RSET");
    reply(250, "2.0.0", "OK");
}

void Session::reset_transaction(std::string_view cause) {
    data_.reset();
    bdat_open_ = false;
    if (!txn_ && cause.empty()) {
        end_xforward();
        return;
    }
    chain_->notify(hooks::Hook::ResetTransaction, hooks::ResetArgs{cause == "RSET"});
    txn_.reset();
    end_xforward();   // after reset_transaction: its plugins still saw the forwarded client
}

}  // namespace asmtpd::smtp
