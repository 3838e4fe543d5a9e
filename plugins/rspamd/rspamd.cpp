// NAME
//   rspamd - scores each message with rspamd's normal worker (HTTP POST /checkv2) and acts on
//   its action as Haraka's rspamd plugin does.
// SYNOPSIS
//   rspamd [host HOST] [port N] [unix_socket /PATH] [timeout SECONDS] [add_headers always|
//          sometimes|never] [reject.spam BOOL] [soft_reject.enabled BOOL] [greylist.enabled BOOL]
//          [rewrite_subject.enabled BOOL] [subject TEXT] [check.authenticated BOOL]
//          [check.local_ip BOOL] [check.private_ip BOOL] [defer.error BOOL] [defer.timeout BOOL]
//          [header.score NAME] ... (every key and its default: rspamd_settings.hpp)
// HOOKS
//   data_post: unless skipped (authenticated without check.authenticated, relay client without
//   check.relay, loopback without check.local_ip, a private address without check.private_ip),
//   sends the request head (IP, Hostname, Helo, From, Rcpt per recipient, Deliver-To for one
//   recipient, Queue-Id, User when authenticated, TLS-Cipher/TLS-Version, Pass: all and
//   Settings-ID when configured) and the message streamed from the spool (our Received and
//   the added headers first), then acts on the JSON reply:
//   - "reject" (reject.spam; reject.authenticated for authenticated users): 550 5.7.1 with
//     rspamd's smtp_message (smtp_message.enabled) or reject.message;
//   - "soft reject" (soft_reject.enabled): 451 4.7.1 smtp_message or soft_reject.message;
//   - "greylist" (greylist.enabled): 451 4.7.1 smtp_message or "Greylisted, try again later";
//   - "rewrite subject" (rewrite_subject.enabled): Subject becomes rspamd's "subject", or the
//     `subject` template with %s = the old Subject (a header edit of the client's block);
//   - otherwise, and for actions not acted on: rspamd's milter add/remove headers
//     (rmilter_headers.enabled), then header.bar/report/score (an incoming field of the same
//     name is removed) when add_headers is always, or sometimes and the action is "add
//     header", "rewrite subject" or a "reject" let through (Haraka: "add header" only; here a
//     spam message is never delivered unmarked).
//   rspamd down, refusing, slower than timeout, or answering garbage or {"error": ...}:
//   logged and accepted unscanned; defer.error / defer.timeout answer 451 4.3.0.
// NOTES (transaction)
//   "rspamd": "<action>, score=S required=R symbols=NAME(score),..." (proto::rspamd_note).
// LOG
//   "rspamd: add header, score=6.5 required=15 symbols=X(6.5) (12 ms); headers added",
//   "rspamd: skip, local_ip", "rspamd: error, 127.0.0.1:11333: <why>; accepted unscanned|deferred".
// Rules: the exchange is core/client/scan_exchange (one connection per message, bounded time
// and reply size); the HTTP framing and the JSON are core/proto's. The answer touches the
// transaction only while the chain still waits for it; settings travel by shared_ptr.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/client/scan_exchange.hpp"
#include "core/proto/cidr.hpp"
#include "core/proto/header_block.hpp"
#include "core/proto/http_response.hpp"
#include "core/proto/rspamd_protocol.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/rspamd/rspamd_settings.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::size_t kMaxReply = 4 << 20;       // symbols with options, urls: still far below
constexpr std::size_t kMaxHeaderRead = 256 * 1024;
constexpr std::size_t kFoldAt = 78;

struct Shared {
    RspamdSettings s;
    proto::CidrList local, priv;
};

const char* skip_reason(const Shared& sh, const proto::ConnectionInfo& c) {
    const auto& s = sh.s;
    if (!s.check_authenticated && !c.auth_user.empty()) return "authenticated";
    if (!s.check_relay && c.relay_client) return "relay";
    const bool local = sh.local.matches(c.remote_ip);
    if (!s.check_local_ip && local) return "local_ip";
    if (!s.check_private_ip && sh.priv.matches(c.remote_ip) && !(s.check_local_ip && local)) return "private_ip";
    return nullptr;
}

std::vector<std::pair<std::string, std::string>> request_fields(hooks::Context& ctx, const hooks::Transaction& t,
                                                                const RspamdSettings& s) {
    const auto& c = ctx.connection();
    std::vector<std::pair<std::string, std::string>> f;
    f.emplace_back("IP", c.remote_ip);
    if (auto n = ctx.notes().find("remote_host"); n != ctx.notes().end()) f.emplace_back("Hostname", n->second);
    else if (!c.remote_host.empty()) f.emplace_back("Hostname", c.remote_host);
    f.emplace_back("Helo", c.helo_host);
    f.emplace_back("From", t.sender->is_null() ? std::string("<>") : t.sender->bare());
    for (const auto& r : t.recipients) f.emplace_back("Rcpt", r.bare());
    if (t.recipients.size() == 1) f.emplace_back("Deliver-To", t.recipients.front().bare());
    f.emplace_back("Queue-Id", t.id);
    f.emplace_back("User", c.auth_user);
    if (c.tls) {
        f.emplace_back("TLS-Cipher", c.tls_cipher);
        f.emplace_back("TLS-Version", c.tls_version);
    }
    if (s.pass_all) f.emplace_back("Pass", "all");
    f.emplace_back("Settings-ID", s.settings_id);
    return f;
}

// "A(1) B(2) ..." folded below kFoldAt columns (the name and ": " counted on the first line).
std::string folded(std::string_view name, const std::string& words) {
    std::string out;
    std::size_t col = name.size() + 2;
    std::size_t start = 0;
    while (start < words.size()) {
        auto end = words.find(' ', start);
        if (end == std::string::npos) end = words.size();
        const auto w = std::string_view(words).substr(start, end - start);
        if (!out.empty()) {
            if (col + 1 + w.size() > kFoldAt) {
                out += "\r\n\t";
                col = 8;
            } else {
                out += ' ';
                ++col;
            }
        }
        out += w;
        col += w.size();
        start = end + 1;
    }
    return out;
}

// Haraka's replace_header: an incoming field of that name goes, ours is added.
void replace_header(hooks::Transaction& t, const std::string& name, const std::string& value) {
    if (name.empty() || value.empty()) return;
    t.header_edits.push_back(proto::HeaderEdit::remove(name, 0));
    t.added_headers.push_back(name + ": " + value);
}

std::string find_subject(std::string_view block) {
    for (const auto& f : proto::split_header_block(block))
        if (proto::iequals(f.name, "Subject")) return proto::unfold(f.value());
    return {};
}

struct Decision {
    hooks::Verdict verdict;
    std::string outcome;              // for the log line
    bool needs_old_subject = false;   // rewrite with the template: the old Subject is read first
};

class Rspamd final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        auto sh = std::make_shared<Shared>();
        if (auto err = parse_rspamd_settings(in.line.args, sh->s)) return err;
        if (sh->s.timeout_ms == 0) {
            const auto plugin_ms = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
            sh->s.timeout_ms = plugin_ms > 2000 ? plugin_ms - 1000 : 1000;   // Haraka: plugin timeout - 1 s
        }
        sh->local = proto::CidrList::parse({"127.0.0.0/8", "::1/128"});
        sh->priv = proto::CidrList::parse({"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                                           "127.0.0.0/8", "::1/128", "fc00::/7", "fe80::/10"});
        const auto mine = std::chrono::milliseconds(sh->s.timeout_ms + 2000);
        if (timeout() < mine) set_timeout(mine);
        shared_ = std::move(sh);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&Rspamd::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& s = shared_->s;
        hooks::Transaction* t = ctx.transaction();
        if (!t || !t->body || t->body->failed() || !t->sender) return call.declined();
        if (const char* why = skip_reason(*shared_, ctx.connection())) {
            ctx.log().info("rspamd: skip, {}", why);
            return call.declined();
        }
        client::ScanRequest req;
        req.target = s.target;
        req.message_prefix = t->header_prefix();
        req.body = t->body;
        req.body_offset = t->body_offset;
        proto::RspamdRequest head;
        head.host = s.target.unix_socket ? "localhost" : s.target.describe();
        head.content_length = client::scan_message_size(req);
        head.fields = request_fields(ctx, *t, s);
        req.head = proto::rspamd_request_head(head);
        req.total_ms = s.timeout_ms;
        req.connect_ms = s.timeout_ms;
        req.max_reply = kMaxReply;
        req.reply_complete = [](std::string_view reply) {
            proto::HttpResponse r;
            std::string error;
            return proto::parse_http_response(reply, false, r, error) != proto::HttpParse::Incomplete;
        };
        client::run_scan(ctx.reactor(), std::move(req),
                         [call, sh = shared_, ctx_ptr = &ctx, life = ctx.lifetime(), log = ctx.log()](client::ScanOutcome o) {
                             if (life.expired() || !call.wanted()) return call.declined();
                             answer(*ctx_ptr, sh, log, std::move(o), call);
                         });
    }

    static hooks::Verdict failed(const RspamdSettings& s, const io::Log& log, std::string_view why, bool timeout) {
        const bool defer = timeout ? s.defer_timeout : s.defer_error;
        log.warn("rspamd: error, {}: {}; {}", s.target.describe(), why, defer ? "deferred" : "accepted unscanned");
        if (!defer) return hooks::Verdict::declined();
        hooks::Verdict v = hooks::Verdict::deny_soft();
        v.reply = proto::Reply::make(451, "4.3.0", timeout ? "Rspamd scan timeout" : "Rspamd scan error");
        return v;
    }

    static hooks::Verdict refuse(bool soft, const std::string& text) {
        hooks::Verdict v = soft ? hooks::Verdict::deny_soft(text) : hooks::Verdict::deny(text);
        v.reply = proto::Reply::make(soft ? 451 : 550, soft ? "4.7.1" : "5.7.1", text);
        return v;
    }

    static void answer(hooks::Context& ctx, const std::shared_ptr<const Shared>& sh, const io::Log& log,
                       client::ScanOutcome o, hooks::HookCall call) {
        const auto& s = sh->s;
        if (!o.ok()) return call.resolve(failed(s, log, o.error, o.timed_out || o.elapsed_ms >= s.timeout_ms));
        proto::HttpResponse http;
        std::string why;
        if (proto::parse_http_response(o.reply, true, http, why) != proto::HttpParse::Complete)
            return call.resolve(failed(s, log, "bad HTTP reply: " + why, false));
        if (http.status != 200)
            return call.resolve(failed(s, log, fmt::format("HTTP {} {}", http.status, http.reason), false));
        auto reply = proto::parse_rspamd_reply(http.body, why);
        if (!reply) return call.resolve(failed(s, log, why, false));
        hooks::Transaction* t = ctx.transaction();
        if (!t) return call.declined();

        t->notes["rspamd"] = proto::rspamd_note(*reply);
        auto d = decide(ctx, s, *reply);
        const auto line = fmt::format("rspamd: {} ({} ms){}", proto::rspamd_note(*reply), o.elapsed_ms, d.outcome);
        if (!d.needs_old_subject) {
            log.info("{}", line);
            return call.resolve(std::move(d.verdict));
        }
        // The template needs the Subject the client sent: read the header block back.
        auto finish = [call, sh, ctx_ptr = &ctx, life = ctx.lifetime(), log, line,
                       verdict = std::move(d.verdict)](bool ok, std::string block) mutable {
            if (life.expired() || !call.wanted()) return call.declined();
            hooks::Transaction* tx = ctx_ptr->transaction();
            if (!tx) return call.declined();
            if (ok) {
                tx->header_edits.push_back(
                    proto::HeaderEdit::change("Subject", 1, proto::rspamd_subject(sh->s.subject, find_subject(block))));
                log.info("{}", line);
            } else {
                log.warn("{}; reading the Subject back failed, not rewritten", line);
            }
            call.resolve(std::move(verdict));
        };
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(t->header_bytes, kMaxHeaderRead));
        if (!t->body->in_file()) return finish(true, t->body->memory().substr(0, n));
        t->body->read_async(0, n, std::move(finish));
    }

    static Decision decide(hooks::Context& ctx, const RspamdSettings& s, const proto::RspamdReply& r) {
        Decision d;
        hooks::Transaction& t = *ctx.transaction();
        const std::string& smtp = s.smtp_message ? r.smtp_message : std::string();
        auto message = [&](const std::string& fallback) { return smtp.empty() ? fallback : smtp; };
        const bool authed = !ctx.connection().auth_user.empty();
        if (r.action == "soft reject" && s.soft_reject) {
            d.verdict = refuse(true, message(s.soft_reject_message));
            d.outcome = "; deferred";
            return d;
        }
        if (r.action == "greylist" && s.greylist) {
            d.verdict = refuse(true, message("Greylisted, try again later"));
            d.outcome = "; greylisted";
            return d;
        }
        if (r.action == "reject" && (authed ? s.reject_authenticated : s.reject_spam)) {
            d.verdict = refuse(false, message(s.reject_message));
            d.outcome = "; refused";
            return d;
        }
        if (r.action == "rewrite subject" && s.rewrite_subject) {
            if (r.subject) t.header_edits.push_back(proto::HeaderEdit::change("Subject", 1, *r.subject));
            else d.needs_old_subject = true;
            d.outcome = "; subject rewritten";
        }
        if (s.milter_headers) {
            for (const auto& h : r.remove_headers) {
                if (h.occurrence < 0) continue;   // counted from the end: not expressible as an edit
                t.header_edits.push_back(proto::HeaderEdit::remove(h.name, static_cast<std::size_t>(h.occurrence)));
            }
            for (const auto& h : r.add_headers) {
                if (h.order) t.header_edits.push_back(proto::HeaderEdit::insert(*h.order, h.name, h.value));
                else t.added_headers.push_back(h.name + ": " + h.value);
            }
        }
        const bool spammy = r.action == "add header" || r.action == "rewrite subject" || r.action == "reject";
        if (s.add_headers == RspamdSettings::AddHeaders::Always ||
            (s.add_headers == RspamdSettings::AddHeaders::Sometimes && spammy)) {
            replace_header(t, s.header_bar, proto::rspamd_bar(r.score, s.bar_positive, s.bar_negative, s.bar_neutral));
            replace_header(t, s.header_report, folded(s.header_report, proto::rspamd_report(r.symbols)));
            replace_header(t, s.header_score, proto::rspamd_number(r.score));
            d.outcome += "; headers added";
        }
        return d;
    }

    std::shared_ptr<const Shared> shared_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_rspamd() { return std::make_unique<Rspamd>(); }

}  // namespace asmtpd::plugins
