// NAME
//   milter - a sendmail/Postfix mail filter (milter protocol 6) consulted at every SMTP step,
//   over one persistent connection per session.
// SYNOPSIS
//   milter socket unix:/path|inet:port@host [connect_timeout S] [command_timeout S]
//          [content_timeout S] [default_action tempfail|accept|reject] [protocol 6]
//          [connect_macros LIST] [helo_macros LIST] [mail_macros LIST] [rcpt_macros LIST]
//          [data_macros LIST] [end_of_header_macros LIST] [end_of_data_macros LIST]
//          [reuse N] [reuse_idle S]
//   Postfix's milter_* settings: defaults connect 30 s, command 30 s, content 300 s,
//   default_action tempfail. LIST is comma-separated macro names ("i,{auth_authen}") or
//   "none"; the defaults are Postfix's milter_*_macros (milter_macros.cpp), and a list the
//   filter asks for in its option negotiation (SETSYMLIST) wins. Several milters run in
//   order when the plugin is listed several times (milter, milter:2, ...); list them before
//   the queue plugin (a DISCARD is answered at the queue hook).
//   reuse N (default 0: a connection per session, as Postfix) keeps up to N connections per
//   worker between sessions: a session whose last filter exchange was an end of message that
//   the filter answered CONTINUE ends with QUIT_NC instead of QUIT (libmilter's state table
//   allows it only there), and the next session sends its CONNECT on that connection without
//   connecting or negotiating again; the options of the first negotiation hold. A parked
//   connection unused for reuse_idle seconds (default 60) is closed at the next session's
//   start or end; one the filter closed meanwhile is never used.
// HOOKS
//   connect: connects, negotiates (every action and protocol step offered; the filter's
//     SMFIP_NO* and NR_* flags are honoured), sends CONNECT with the macros.
//   helo/ehlo HELO, mail MAIL, rcpt RCPT (a refusal refuses that recipient only), data DATA,
//   unrecognized_command UNKNOWN, data_post: every header (our Received and the headers
//   plugins added first, as Postfix shows its own), EOH, the body streamed from the spool in
//   BODY chunks (SKIP honoured), BODYEOB; then the modifications are applied (milter_edits)
//   and a replaced body becomes the transaction's new spool. reset_transaction: ABORT when a
//   message was begun and not ended. disconnect: QUIT.
//   Replies: CONTINUE goes on; ACCEPT skips the filter for the rest of the message (for the
//   session at connect/helo); REJECT 550 5.7.1, TEMPFAIL 451 4.7.1, REPLYCODE its own code,
//   enhanced code and lines; DISCARD accepts the message and drops it: the transaction note
//   "discard" is set and this plugin answers the queue hook 250 without the backend.
//   QUARANTINE: transaction note "quarantine" and an X-Quarantine header.
// METRICS
//   asmtpd_plugin_events_total{event="connection_opened"} and {event="connection_reused"}: how
//   each session got its milter connection (reuse N).
// FAIL MODE
//   A filter that cannot be reached, answers garbage or misses a deadline is dropped for the
//   session; default_action then answers every MAIL, RCPT, DATA and end of data (tempfail:
//   451 4.7.1, reject: 550 5.7.1, accept: on without it). Connect and HELO are never refused
//   for it. The plugin's own deadline is raised to cover connect + command + content.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "core/client/milter_client.hpp"
#include "core/client/milter_pool.hpp"
#include "core/proto/header_block.hpp"
#include "core/proto/header_edit.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/milter/milter_edits.hpp"
#include "plugins/milter/milter_macros.hpp"
#include "plugins/milter/milter_settings.hpp"

namespace asmtpd::plugins {

namespace {

namespace pm = proto::milter;
using milter::MacroLists;
using pm::Stage;

using milter::DefaultAction;
using milter::Settings;
enum class Level { Connect, Helo, Mail, Rcpt, Data, Eom, Unknown };

struct Conn {
    std::shared_ptr<client::MilterConnection> mc;
    bool down = false;              // unreachable or broken: default_action from now on
    bool session_accepted = false;  // ACCEPT at connect/helo: nothing more this session
    bool session_discard = false;   // DISCARD at connect/helo: every message is dropped
    bool txn_open = false;          // MAIL went out and no end of message yet: ABORT at reset
    bool txn_skip = false;          // ACCEPT/DISCARD before the end: nothing more this message
    bool after_eom = false;         // the last exchange was an end of message, CONTINUE: QUIT_NC may follow
    std::uint32_t protocol = 0, actions = 0;
    MacroLists macros;
};

hooks::Verdict refusal(int code, std::string_view esc, std::string_view text) {
    hooks::Verdict v = code >= 500 ? hooks::Verdict::deny() : hooks::Verdict::deny_soft();
    v.reply = proto::Reply::make(code, esc, text);
    return v;
}

// "\r\n" folds as "\n" (Postfix's form); without HDR_LEADSPC the leading white space goes.
std::string header_value(std::string_view raw, bool leading_space) {
    std::string v;
    v.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
        v.push_back(raw[i]);
    }
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (!leading_space) {
        std::size_t n = 0;
        while (n < v.size() && (v[n] == ' ' || v[n] == '\t')) ++n;
        v.erase(0, n);
    }
    return v;
}

class Milter final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        auto s = std::make_shared<Settings>();
        if (auto err = milter::parse_settings(in.line.args, *s)) return err;
        const auto& t = s->timeouts;
        const auto mine = std::chrono::milliseconds(t.connect_ms + t.command_ms + t.content_ms + 2000);
        if (timeout() < mine) set_timeout(mine);
        settings_ = std::move(s);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&Milter::on_connect);
        r.on<hooks::Hook::Helo>(&Milter::on_helo);
        r.on<hooks::Hook::Ehlo>(&Milter::on_helo);
        r.on<hooks::Hook::Mail>(&Milter::on_mail);
        r.on<hooks::Hook::Rcpt>(&Milter::on_rcpt);
        r.on<hooks::Hook::Data>(&Milter::on_data);
        r.on<hooks::Hook::DataPost>(&Milter::on_data_post);
        r.on<hooks::Hook::Queue>(&Milter::on_queue);
        r.on<hooks::Hook::UnrecognizedCommand>(&Milter::on_unknown);
        r.on<hooks::Hook::ResetTransaction>(&Milter::on_reset);
        r.on<hooks::Hook::Disconnect>(&Milter::on_disconnect);
    }

private:
    using ConnPtr = std::shared_ptr<Conn>;

    std::shared_ptr<client::MilterPool> pool_for(const hooks::Context& ctx) {
        if (!settings_->reuse) return nullptr;
        std::lock_guard<std::mutex> g(conns_m_);
        auto& pool = pools_[ctx.reactor().loop_id()];
        if (!pool)
            pool = client::MilterPool::create(ctx.reactor(), settings_->reuse,
                                              std::chrono::milliseconds(settings_->reuse_idle_ms));
        return pool;
    }

    ConnPtr find(const hooks::Context& ctx) {
        std::lock_guard<std::mutex> g(conns_m_);
        auto it = conns_.find(ctx.lifetime());
        return it == conns_.end() ? nullptr : it->second;
    }

    // ---- verdicts ------------------------------------------------------------------------

    hooks::Verdict default_verdict(Level level) const {
        if (level == Level::Connect || level == Level::Helo || level == Level::Unknown) return hooks::Verdict::declined();
        switch (settings_->default_action) {
            case DefaultAction::Accept: return hooks::Verdict::declined();
            case DefaultAction::Reject: return refusal(550, "5.7.1", "Command rejected");
            case DefaultAction::Tempfail: break;
        }
        return refusal(451, "4.7.1", "Service unavailable - try again later");
    }

    hooks::Verdict broken(hooks::Context& ctx, Conn& c, const std::string& why, Level level) {
        if (!c.down) {
            const char* what[] = {"tempfail", "accept", "reject"};
            ctx.log().warn("{}: {}: {}; default_action {}", name(), settings_->target.describe(), why,
                           what[static_cast<int>(settings_->default_action)]);
        }
        c.down = true;
        if (c.mc) c.mc->close(false);
        return default_verdict(level);
    }

    void mark_discard(hooks::Context& ctx, Conn& c) {
        c.txn_skip = true;
        if (auto* t = ctx.transaction()) t->notes["discard"] = name();
    }

    hooks::Verdict verdict_for(hooks::Context& ctx, Conn& c, const pm::Reply& r, Level level) {
        const bool session = level == Level::Connect || level == Level::Helo;
        switch (r.kind) {
            case pm::ReplyKind::Accept:
                if (session) c.session_accepted = true;
                else c.txn_skip = true;
                return hooks::Verdict::declined();
            case pm::ReplyKind::Discard:
                if (session) c.session_discard = true;
                else mark_discard(ctx, c);
                ctx.log().info("{}: discard at {}", name(), level_name(level));
                return hooks::Verdict::declined();
            case pm::ReplyKind::Reject:
                return refusal(550, "5.7.1", level == Level::Eom ? "Message content rejected" : "Command rejected");
            case pm::ReplyKind::Tempfail:
                return refusal(451, "4.7.1", "Service unavailable - try again later");
            case pm::ReplyKind::ReplyCode: {
                hooks::Verdict v = r.code >= 500 ? hooks::Verdict::deny() : hooks::Verdict::deny_soft();
                proto::Reply reply;
                reply.code = r.code;
                reply.esc = r.esc.empty() ? std::string(r.code >= 500 ? "5.7.1" : "4.7.1") : r.esc;
                reply.lines = r.lines;
                v.reply = std::move(reply);
                return v;
            }
            default: return hooks::Verdict::declined();
        }
    }

    static const char* level_name(Level l) {
        const char* names[] = {"connect", "helo", "mail", "rcpt", "data", "end of message", "unknown"};
        return names[static_cast<int>(l)];
    }

    // ---- one command ---------------------------------------------------------------------

    std::string with_macros(hooks::Context& ctx, const Conn& c, Stage stage, std::string command,
                            const proto::Address* sender = nullptr, const proto::Address* rcpt = nullptr) {
        const auto& names = c.macros[static_cast<std::size_t>(stage)];
        if (names.empty()) return command;
        auto values = milter::macro_values(ctx, names, sender, rcpt);
        if (values.empty()) return command;
        return pm::macros(milter::stage_command(stage), values) + command;
    }

    void command(hooks::Context& ctx, const ConnPtr& c, std::string bytes, std::uint32_t no_reply, Level level,
                 hooks::HookCall call) {
        c->after_eom = false;
        if (c->protocol & no_reply) {
            c->mc->send(std::move(bytes));
            return call.declined();
        }
        c->mc->request(std::move(bytes), settings_->timeouts.command_ms,
                       [this, c, call, cp = &ctx, life = ctx.lifetime(), level](client::MilterAnswer a) {
                           if (life.expired() || !call.wanted()) return call.declined();
                           if (!a.ok()) return call.resolve(broken(*cp, *c, a.error, level));
                           call.resolve(verdict_for(*cp, *c, *a.reply, level));
                       });
    }

    // Null when the filter has nothing to say here; a Verdict when the answer is known now.
    std::optional<hooks::Verdict> gate(hooks::Context& ctx, const ConnPtr& c, Level level) {
        if (!c) return hooks::Verdict::declined();
        if (!c->down && c->mc && c->mc->busy())   // an abandoned exchange (the chain timed out)
            return broken(ctx, *c, "the previous command got no reply in time", level);
        if (c->down) return default_verdict(level);
        if (c->session_accepted) return hooks::Verdict::declined();
        if (level >= Level::Rcpt && level != Level::Unknown && c->txn_skip) return hooks::Verdict::declined();
        return std::nullopt;
    }

    // ---- hooks ---------------------------------------------------------------------------

    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto c = std::make_shared<Conn>();
        {
            std::lock_guard<std::mutex> g(conns_m_);
            for (auto it = conns_.begin(); it != conns_.end();) it = it->first.expired() ? conns_.erase(it) : std::next(it);
            conns_[ctx.lifetime()] = c;
        }
        if (auto pool = pool_for(ctx)) c->mc = pool->take();
        if (c->mc) {
            ctx.count(name(), "connection_reused");
            return begin_session(ctx, c, call);
        }
        ctx.count(name(), "connection_opened");
        c->mc = client::MilterConnection::create(ctx.reactor(), settings_->target, settings_->timeouts);
        c->mc->open(pm::kAllActions, pm::kOfferedProtocol,
                    [this, c, call, cp = &ctx, life = ctx.lifetime()](std::string error) {
                        if (life.expired() || !call.wanted()) return call.declined();
                        if (!error.empty()) return call.resolve(broken(*cp, *c, error, Level::Connect));
                        begin_session(*cp, c, call);
                    });
    }

    // The negotiated options (fresh, or from a parked connection's first negotiation), then CONNECT.
    void begin_session(hooks::Context& ctx, const ConnPtr& c, hooks::HookCall call) {
        const auto& o = c->mc->negotiated();
        c->protocol = o.protocol;
        c->actions = o.actions;
        c->macros = settings_->macros;
        for (std::size_t i = 0; i < pm::kStageCount; ++i)
            if (o.macros[i]) {
                std::string ignored;
                if (auto l = milter::parse_macro_list(*o.macros[i], ignored)) c->macros[i] = *l;
            }
        if (c->protocol & pm::kNoConnect) return call.declined();
        const auto& info = ctx.connection();
        const std::string host = info.remote_host.empty() ? info.remote_literal() : info.remote_host;
        const char family = info.remote_ip.empty() ? 'U' : info.remote_ip.find(':') != std::string::npos ? '6' : '4';
        command(ctx, c,
                with_macros(ctx, *c, Stage::Connect, pm::connect(host, family, info.remote_port, info.remote_ip)),
                pm::kNoReplyConnect, Level::Connect, call);
    }

    void on_helo(hooks::Context& ctx, const hooks::HeloArgs& a, hooks::HookCall call) {
        auto c = find(ctx);
        if (auto v = gate(ctx, c, Level::Helo)) return call.resolve(std::move(*v));
        if (c->protocol & pm::kNoHelo) return call.declined();
        command(ctx, c, with_macros(ctx, *c, Stage::Helo, pm::helo(a.host)), pm::kNoReplyHelo, Level::Helo, call);
    }

    static std::vector<std::string> esmtp_args(const std::vector<proto::EsmtpParam>& params) {
        std::vector<std::string> out;
        for (const auto& p : params) out.push_back(p.value ? p.keyword + "=" + *p.value : p.keyword);
        return out;
    }

    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& a, hooks::HookCall call) {
        auto c = find(ctx);
        if (c) {
            c->txn_skip = false;
            if (c->session_discard && !c->down) mark_discard(ctx, *c);
        }
        if (auto v = gate(ctx, c, Level::Mail)) return call.resolve(std::move(*v));
        c->txn_open = true;
        if (c->protocol & pm::kNoMail) return call.declined();
        command(ctx, c,
                with_macros(ctx, *c, Stage::Mail, pm::envelope('M', a.address.format(), esmtp_args(a.params)), &a.address),
                pm::kNoReplyMail, Level::Mail, call);
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& a, hooks::HookCall call) {
        auto c = find(ctx);
        if (auto v = gate(ctx, c, Level::Rcpt)) return call.resolve(std::move(*v));
        if (c->protocol & pm::kNoRcpt) return call.declined();
        command(ctx, c,
                with_macros(ctx, *c, Stage::Rcpt, pm::envelope('R', a.address.format(), esmtp_args(a.params)), nullptr,
                            &a.address),
                pm::kNoReplyRcpt, Level::Rcpt, call);
    }

    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto c = find(ctx);
        if (auto v = gate(ctx, c, Level::Data)) return call.resolve(std::move(*v));
        if (c->protocol & pm::kNoData) return call.declined();
        command(ctx, c, with_macros(ctx, *c, Stage::Data, pm::packet('T')), pm::kNoReplyData, Level::Data, call);
    }

    void on_unknown(hooks::Context& ctx, const hooks::CommandArgs& a, hooks::HookCall call) {
        auto c = find(ctx);
        if (auto v = gate(ctx, c, Level::Unknown)) return call.resolve(std::move(*v));
        if (c->protocol & pm::kNoUnknown) return call.declined();
        std::string line = a.arguments.empty() ? a.verb : a.verb + " " + a.arguments;
        command(ctx, c, pm::unknown(line), pm::kNoReplyUnknown, Level::Unknown, call);
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto c = find(ctx);
        hooks::Transaction* t = ctx.transaction();
        if (!t || !t->body || t->body->failed()) return call.declined();
        if (auto v = gate(ctx, c, Level::Eom)) return call.resolve(std::move(*v));
        // The header block (and the empty line after it) from the spool; the body is streamed.
        const std::uint64_t want = std::min<std::uint64_t>(t->header_bytes + 2, t->body->size());
        t->body->read_async(0, want, [this, c, call, cp = &ctx, life = ctx.lifetime()](bool ok, std::string block) {
            if (life.expired() || !call.wanted()) return call.declined();
            if (!ok) return call.resolve(broken(*cp, *c, "reading the message from the spool failed", Level::Eom));
            send_message(*cp, c, std::move(block), call);
        });
    }

    void send_message(hooks::Context& ctx, const ConnPtr& c, std::string block, hooks::HookCall call) {
        hooks::Transaction& t = *ctx.transaction();
        const bool leadspc = c->protocol & pm::kHeaderLeadingSpace;
        client::MilterMessage m;
        std::uint64_t body_from = std::min<std::uint64_t>(t.header_bytes, block.size());
        if (block.size() >= t.header_bytes + 2 && block.compare(t.header_bytes, 2, "\r\n") == 0) body_from += 2;
        block.resize(std::min<std::size_t>(block.size(), t.header_bytes));
        if (!(c->protocol & pm::kNoHeaders)) {
            std::string prefix = t.received;
            for (const auto& h : t.added_headers) proto::append_header_field(prefix, h);
            // A milter sees the header block as the plugins before it left it (an earlier
            // milter's changes included, as Postfix's cleanup shows each milter the queue file
            // as edited so far); its own edits count on that block, and apply after those.
            const std::string shown = t.header_edits.empty() ? block : proto::apply_header_edits(block, t.header_edits);
            const bool reply = !(c->protocol & pm::kNoReplyHeader);
            for (std::string_view part : {std::string_view(prefix), std::string_view(shown)})
                for (const auto& f : proto::split_header_block(part))
                    if (!f.name.empty()) m.head.push_back({pm::header(f.name, header_value(f.value(), leadspc)), reply});
        }
        if (!(c->protocol & pm::kNoEoh))
            m.head.push_back({with_macros(ctx, *c, Stage::Eoh, pm::packet('N')), !(c->protocol & pm::kNoReplyEoh)});
        m.spool = t.body;
        m.body_from = body_from;
        m.send_body = !(c->protocol & pm::kNoBody);
        m.body_replies = !(c->protocol & pm::kNoReplyBody);
        m.end = with_macros(ctx, *c, Stage::Eom, pm::packet('E'));
        m.spool_dir = ctx.server().spool_dir;
        m.body_prefix = block;
        if (!block.empty() && !block.ends_with("\r\n")) m.body_prefix += "\r\n";
        m.body_prefix += "\r\n";
        c->mc->message(std::move(m), [this, c, call, cp = &ctx, life = ctx.lifetime()](client::MilterAnswer a) {
            if (life.expired() || !call.wanted()) return call.declined();
            c->txn_open = false;   // the filter's message is over
            if (!a.ok()) return call.resolve(broken(*cp, *c, a.error, Level::Eom));
            // libmilter allows QUIT_NC only in its end-of-message state, which an ACCEPT,
            // REJECT, TEMPFAIL or DISCARD there leaves (it ignores a QUIT_NC then, and the
            // next CONNECT with it): only a CONTINUE keeps the connection reusable.
            c->after_eom = a.reply && a.reply->kind == pm::ReplyKind::Continue;
            call.resolve(end_of_message(*cp, *c, std::move(a)));
        });
    }

    hooks::Verdict end_of_message(hooks::Context& ctx, Conn& c, client::MilterAnswer a) {
        hooks::Transaction* t = ctx.transaction();
        const auto kind = a.reply->kind;
        if (!t || (kind != pm::ReplyKind::Accept && kind != pm::ReplyKind::Continue && kind != pm::ReplyKind::Skip &&
                   kind != pm::ReplyKind::Discard))
            return verdict_for(ctx, c, *a.reply, Level::Eom);
        if (kind == pm::ReplyKind::Discard) return verdict_for(ctx, c, *a.reply, Level::Eom);
        milter::EditPolicy policy{c.actions, (c.protocol & pm::kHeaderLeadingSpace) != 0, name()};
        const auto n = milter::apply_changes(*t, a.changes, policy, ctx.log());
        if (a.new_body) {
            if (c.actions & pm::kChangeBody) {
                t->body = std::move(a.new_body);
                ctx.log().info("{}: body replaced ({} octets)", name(), t->body->size());
            } else {
                ctx.log().warn("{}: replbody: changing the body was not negotiated; ignored", name());
            }
        }
        if (n) ctx.log().info("{}: {} modification(s) applied", name(), n);
        return hooks::Verdict::declined();
    }

    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        hooks::Transaction* t = ctx.transaction();
        auto it = t ? t->notes.find("discard") : hooks::Notes::iterator{};
        if (!t || it == t->notes.end()) return call.declined();
        ctx.log().info("{}: message discarded (DISCARD from {}), not queued", name(), it->second);
        call.ok();
    }

    void on_reset(hooks::Context& ctx, const hooks::ResetArgs&, hooks::HookCall call) {
        auto c = find(ctx);
        if (c && !c->down && c->mc) {
            if (c->mc->busy()) broken(ctx, *c, "a command got no reply in time", Level::Connect);
            else if (c->txn_open) {
                c->mc->send(pm::packet('A'));
                c->after_eom = false;
            }
        }
        if (c) {
            c->txn_open = false;
            c->txn_skip = false;
        }
        call.declined();
    }

    void on_disconnect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        ConnPtr c;
        {
            std::lock_guard<std::mutex> g(conns_m_);
            auto it = conns_.find(ctx.lifetime());
            if (it != conns_.end()) {
                c = std::move(it->second);
                conns_.erase(it);
            }
        }
        if (c && c->mc) {
            auto pool = pool_for(ctx);
            if (pool && !c->down && c->after_eom && !c->mc->busy()) pool->put(std::move(c->mc));
            else c->mc->close(!c->down);
        }
        call.declined();
    }

    std::shared_ptr<const Settings> settings_;
    std::map<const void*, std::shared_ptr<client::MilterPool>> pools_;   // reuse N: by Reactor::loop_id()
    std::mutex conns_m_;
    std::map<std::weak_ptr<const void>, ConnPtr, std::owner_less<std::weak_ptr<const void>>> conns_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_milter() { return std::make_unique<Milter>(); }

}  // namespace asmtpd::plugins
