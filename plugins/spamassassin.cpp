// NAME
//   spamassassin - scores each message with SpamAssassin's spamd (SPAMC/1.5 HEADERS), adds
//   spamd's X-Spam-* headers, notes the verdict and refuses messages above a score.
// SYNOPSIS
//   spamassassin [spamd_socket HOST:PORT|/path] [reject SCORE] [reject_type perm|temp|
//                disconnect|temp_disconnect] [munge_subject_threshold SCORE] [subject_prefix
//                WORD] [leave_old_headers keep|drop|rename] [spamd_user NAME] [size_limit
//                BYTES] [timeout SECONDS] [on_error accept|defer] [relayclient skip]
//   reject_threshold SCORE is qpsmtpd's older name of reject. Defaults: spamd_socket
//   127.0.0.1:783 (HOST is an IP literal or localhost: no DNS on this path; a value with a
//   "/" is a Unix socket), no reject, reject_type perm, size_limit 500000 (qpsmtpd's),
//   timeout 20 (the whole exchange, connect included; the plugin's own deadline is raised
//   to timeout + 2 s when the configured plugin timeout is shorter), on_error accept.
//   PENDING: leave_old_headers drop|rename and munge_subject_threshold need to change headers
//   the client sent; until hooks::Transaction can edit them, only leave_old_headers keep (the
//   default here; qpsmtpd's is rename) is accepted and munge_subject_threshold is refused at
//   start-up, so a configuration never silently does less than it says.
// HOOKS
//   data_post: unless skipped (relayclient skip and a relay client or authenticated user;
//   a message over size_limit), sends "HEADERS SPAMC/1.5" with Content-length, User when
//   spamd_user is set, then "X-Envelope-From: <sender>", the Received and plugin headers and
//   the message from the spool (never a copy of it in memory), and reads spamd's reply:
//   - the X-Spam-* fields of the header block spamd returns are added to the message as spamd
//     wrote them (its add_header configuration rules), except X-Spam-Prev-Subject; when spamd's
//     configuration adds none of X-Spam-Status, X-Spam-Flag (spam only) and X-Spam-Level,
//     they are written from the Spam: line in SpamAssassin's own format;
//   - score >= reject refuses the message: "spam score exceeded threshold" (552 5.7.1 with
//     reject_type perm, 452 4.7.1 temp, the _DISCONNECT variants close);
//   - spamd down, refusing, slow past timeout, or answering garbage: on_error accept logs it
//     and the message goes on unscanned; on_error defer answers 451 4.3.0 "Unable to scan for
//     spam" (the client retries).
// NOTES (transaction)
//   "spamassassin": the verdict as one unfolded X-Spam-Status value built from spamd's reply,
//     "Yes, score=1002.7 required=5.0 tests=GTUBE,NO_RELAYS autolearn=no version=4.0.1"
//     (Yes|No from the Spam: line, score and required as spamd wrote them, tests "none" when
//     none; autolearn and version only when spamd's X-Spam-Status had them).
//     proto::parse_spam_status() reads it back. Not set when the message was not scanned.
// LOG
//   "spamassassin: pass, Ham, -0.1 < 10 (tests=none, 650 ms)", "spamassassin: deny, Spam,
//   1002.7 >= 10 (...)", "spamassassin: skip, too large (N > 500000)", "spamassassin: error,
//   spamd 127.0.0.1:783: <why>; accepted unscanned|deferred".
// Rules: the exchange is core/client/scan_exchange (one connection per message, bounded time
// and reply size). The answer touches the transaction only while the chain still waits for it
// (then the session and its transaction are alive); the settings travel by shared_ptr, so a
// reload that drops the plugin mid-scan harms nothing.
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/client/scan_exchange.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/spamd_reply.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/reject_policy.hpp"
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::uint16_t kSpamdPort = 783;
constexpr std::uint64_t kDefaultSizeLimit = 500000;
constexpr std::uint64_t kDefaultTimeoutMs = 20000;
constexpr std::size_t kMaxReply = 1 << 20;   // a header block, even a fat one, is far below
constexpr int kMaxStars = 50;                // SpamAssassin's _STARS_ cap

struct Settings {
    client::NextHop spamd;
    std::optional<double> reject;
    hooks::Result reject_type = hooks::Result::Deny;
    std::string spamd_user;
    std::uint64_t size_limit = kDefaultSizeLimit;
    std::uint64_t timeout_ms = kDefaultTimeoutMs;
    bool defer_on_error = false;
    bool skip_relay_clients = false;
};

// What SpamAssassin's default add_header lines would have written, for a spamd whose
// configuration adds none of these.
std::vector<std::string> synthesized_headers(const proto::SpamdReply& r, const std::vector<proto::HeaderField>& have) {
    auto has = [&](std::string_view name) {
        for (const auto& f : have)
            if (proto::iequals(f.name, name)) return true;
        return false;
    };
    std::vector<std::string> out;
    if (r.spam && !has("X-Spam-Flag")) out.push_back("X-Spam-Flag: YES");
    if (!has("X-Spam-Level")) {
        const int stars = r.score <= 0 ? 0 : std::min(kMaxStars, static_cast<int>(std::floor(r.score)));
        out.push_back("X-Spam-Level: " + std::string(static_cast<std::size_t>(stars), '*'));
    }
    if (!has("X-Spam-Status"))
        out.push_back(fmt::format("X-Spam-Status: {}, score={} required={}", r.spam ? "Yes" : "No", r.score_text,
                                  r.threshold_text));
    return out;
}

std::string test_list(const proto::SpamStatus& st) {
    std::string tests;
    for (const auto& t : st.tests) tests += (tests.empty() ? "" : ",") + t;
    return tests.empty() ? "none" : tests;
}

// The "spamassassin" note (format in the header comment).
std::string spam_note(const proto::SpamdReply& r, const proto::SpamStatus& st) {
    std::string note = fmt::format("{}, score={} required={} tests={}", r.spam ? "Yes" : "No", r.score_text,
                                   r.threshold_text, test_list(st));
    if (!st.autolearn.empty()) note += " autolearn=" + st.autolearn;
    if (!st.version.empty()) note += " version=" + st.version;
    return note;
}

class SpamAssassin final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        if (auto err = args.parse(in.line.args, {"spamd_socket", "reject", "reject_threshold", "reject_type",
                                                  "munge_subject_threshold", "subject_prefix", "leave_old_headers",
                                                  "spamd_user", "size_limit", "timeout", "on_error", "relayclient"}))
            return err;
        auto s = std::make_shared<Settings>();
        auto target = scanner_target(args.get("spamd_socket").value_or("127.0.0.1"), kSpamdPort, "spamd_socket");
        if (!target) return target.error;
        s->spamd = *target.hop;
        if (args.has("reject") && args.has("reject_threshold")) return "give reject or reject_threshold, not both";
        if (auto v = args.get("reject") ? args.get("reject") : args.get("reject_threshold")) {
            s->reject = proto::parse_spam_score(*v);
            if (!s->reject) return "bad reject score '" + *v + "'";
        }
        if (auto v = args.get("reject_type")) {
            auto t = reject_type_from_string(*v);
            if (!t) return "bad reject_type '" + *v + "' (perm, temp, disconnect or temp_disconnect)";
            s->reject_type = *t;
        }
        if (args.has("munge_subject_threshold") || args.has("subject_prefix"))
            return "munge_subject_threshold/subject_prefix are not supported yet (they need header edits)";
        if (auto v = args.get("leave_old_headers"); v && proto::to_lower(*v) != "keep")
            return "leave_old_headers " + *v + " is not supported yet (it needs header edits); use keep";
        if (auto v = args.get("spamd_user")) {
            if (v->empty() || proto::has_8bit(*v) || v->find_first_of("\r\n\t ") != std::string::npos)
                return "bad spamd_user '" + *v + "'";
            s->spamd_user = *v;
        }
        if (auto v = args.get("size_limit")) {
            auto n = proto::parse_count(*v);
            if (!n || *n == 0) return "bad size_limit '" + *v + "'";
            s->size_limit = *n;
        }
        if (auto v = args.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return "bad timeout '" + *v + "'";
            s->timeout_ms = *ms;
        }
        if (auto v = args.get("on_error")) {
            if (*v == "defer") s->defer_on_error = true;
            else if (*v != "accept") return "bad on_error '" + *v + "' (accept or defer)";
        }
        if (auto v = args.get("relayclient")) {
            if (*v != "skip") return "bad relayclient '" + *v + "' (only skip)";
            s->skip_relay_clients = true;
        }
        const auto mine = std::chrono::milliseconds(s->timeout_ms + 2000);
        if (timeout() < mine) set_timeout(mine);
        settings_ = std::move(s);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&SpamAssassin::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& s = *settings_;
        hooks::Transaction* t = ctx.transaction();
        if (!t || !t->body || t->body->failed() || !t->sender) return call.declined();
        const auto& c = ctx.connection();
        if (s.skip_relay_clients && (c.relay_client || !c.auth_user.empty())) {
            ctx.log().info("spamassassin: skip, relay client");
            return call.declined();
        }
        client::ScanRequest req;
        req.target = s.spamd;
        req.message_prefix = "X-Envelope-From: " + t->sender->format() + "\r\n" + t->header_prefix();
        req.body = t->body;
        req.body_offset = t->body_offset;
        const auto size = client::scan_message_size(req);
        if (size > s.size_limit) {
            ctx.log().info("spamassassin: skip, too large ({} > {})", size, s.size_limit);
            return call.declined();
        }
        req.head = fmt::format("HEADERS SPAMC/1.5\r\nContent-length: {}\r\n", size);
        if (!s.spamd_user.empty()) req.head += "User: " + s.spamd_user + "\r\n";
        req.head += "\r\n";
        req.total_ms = s.timeout_ms;
        req.connect_ms = s.timeout_ms;
        req.max_reply = kMaxReply;
        client::run_scan(ctx.reactor(), std::move(req),
                         [call, settings = settings_, ctx_ptr = &ctx, life = ctx.lifetime(), log = ctx.log()](
                             client::ScanOutcome o) {
                             // Nobody waits any more (timeout, disconnect): touch nothing.
                             if (life.expired() || !call.wanted()) return call.declined();
                             call.resolve(answer(*ctx_ptr, *settings, log, std::move(o)));
                         });
    }

    static hooks::Verdict failed(const Settings& s, const io::Log& log, std::string_view why) {
        log.warn("spamassassin: error, spamd {}: {}; {}", s.spamd.describe(), why,
                 s.defer_on_error ? "deferred" : "accepted unscanned");
        if (!s.defer_on_error) return hooks::Verdict::declined();
        hooks::Verdict v = hooks::Verdict::deny_soft();
        v.reply = proto::Reply::make(451, "4.3.0", "Unable to scan for spam");
        return v;
    }

    static hooks::Verdict answer(hooks::Context& ctx, const Settings& s, const io::Log& log, client::ScanOutcome o) {
        if (!o.ok()) return failed(s, log, o.error);
        std::string why;
        auto reply = proto::parse_spamd_reply(o.reply, why);
        if (!reply) return failed(s, log, why);
        if (!reply->ok()) return failed(s, log, fmt::format("spamd answered {} {}", reply->code, reply->message));
        hooks::Transaction* t = ctx.transaction();
        if (!t) return hooks::Verdict::declined();

        auto fields = proto::spam_header_fields(reply->body);
        proto::SpamStatus status;
        for (const auto& f : fields) {
            if (proto::iequals(f.name, "X-Spam-Status")) status = proto::parse_spam_status(f.value);
            if (proto::iequals(f.name, "X-Spam-Prev-Subject")) continue;   // spamd's own subject rewrite
            t->added_headers.push_back(f.name + ": " + f.value);
        }
        for (auto& h : synthesized_headers(*reply, fields)) t->added_headers.push_back(std::move(h));
        t->notes["spamassassin"] = spam_note(*reply, status);

        const char* kind = reply->spam ? "Spam" : "Ham";
        const std::string detail = fmt::format("(tests={}, {} ms)", test_list(status), o.elapsed_ms);
        if (s.reject && reply->score >= *s.reject) {
            log.info("spamassassin: deny, {}, {} >= {} {}", kind, reply->score_text, *s.reject, detail);
            return hooks::Verdict{s.reject_type, "spam score exceeded threshold", {}};
        }
        if (s.reject) log.info("spamassassin: pass, {}, {} < {} {}", kind, reply->score_text, *s.reject, detail);
        else log.info("spamassassin: pass, {}, {} (no reject) {}", kind, reply->score_text, detail);
        return hooks::Verdict::declined();
    }

    std::shared_ptr<const Settings> settings_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_spamassassin() { return std::make_unique<SpamAssassin>(); }

}  // namespace asmtpd::plugins
