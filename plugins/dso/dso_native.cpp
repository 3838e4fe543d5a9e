// dso_native.cpp - the host API of hooks/plugin_abi.h, the session snapshot and the verdict
// mapping (see dso_native.hpp).
//
// Must never: let an exception or a host pointer escape into plugin code beyond the call, apply
// an effect from the hook's thread, or accept text that could break a reply or a header (CR, LF,
// NUL and other controls are refused here, and the session frames replies once more).
#include "plugins/dso/dso_native.hpp"

#include "plugins/common/child_env.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>

namespace asmtpd::plugins::dso {

namespace {

bool has_controls(std::string_view s, bool allow_tab, bool allow_lf) {
    for (unsigned char c : s) {
        if (c == '\t' && allow_tab) continue;
        if (c == '\n' && allow_lf) continue;
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

bool valid_field_name(std::string_view n) {
    if (n.empty()) return false;
    for (unsigned char c : n)
        if (c <= 32 || c >= 127 || c == ':') return false;
    return true;
}

io::Level level_of(int l) {
    switch (l) {
        case ASMTPD_LOG_ERROR: return io::Level::Error;
        case ASMTPD_LOG_WARN: return io::Level::Warn;
        case ASMTPD_LOG_NOTICE: return io::Level::Notice;
        case ASMTPD_LOG_DEBUG: return io::Level::Debug;
        default: return io::Level::Info;
    }
}

// Log text on one line: controls become spaces, long lines are cut.
std::string log_text(std::string_view s, std::size_t max) {
    std::string out(s.substr(0, max));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return out;
}

std::string_view view(const char* s) { return s ? std::string_view(s) : std::string_view(); }

}  // namespace

// ---- the host API (C linkage: these are called through the table by C code) ---------------

extern "C" {

static void host_log(asmtpd_call* call, int level, const char* msg) {
    try {
        if (!msg) return;
        if (!call) {   // entry / destroy: no session to tag the line with, no level filter
            if (level <= ASMTPD_LOG_NOTICE) std::fprintf(stderr, "asmtpd dso: %s\n", log_text(msg, 1024).c_str());
            return;
        }
        if (call->fx.logs.size() >= call->limits.log_lines) return;
        call->fx.logs.emplace_back(level_of(level), log_text(msg, call->limits.log_line_bytes));
    } catch (...) {
    }
}

static int host_set_reply(asmtpd_call* call, int code, const char* enhanced, const char* text) {
    try {
        if (!call || code < 400 || code > 599) return ASMTPD_E_INVAL;
        std::string_view t = view(text);
        if (t.size() > call->limits.reply_bytes) return ASMTPD_E_LIMIT;
        if (has_controls(t, true, true)) return ASMTPD_E_INVAL;
        std::string_view esc = view(enhanced);
        if (!esc.empty() && !proto::esc_matches(esc, code)) return ASMTPD_E_INVAL;
        proto::Reply r;
        r.code = code;
        r.esc = std::string(esc);
        if (!t.empty()) r.lines = proto::Reply::make(code, "", t).lines;
        call->fx.reply = std::move(r);
        call->fx.default_esc = enhanced == nullptr;
        return ASMTPD_OK;
    } catch (const std::bad_alloc&) {
        return ASMTPD_E_NOMEM;
    } catch (...) {
        return ASMTPD_E_INVAL;
    }
}

static int host_prefix_reply(asmtpd_call* call, const char* line) {
    try {
        if (!call || !line) return ASMTPD_E_INVAL;
        std::string_view l(line);
        if (l.size() > 510) return ASMTPD_E_LIMIT;
        if (has_controls(l, true, false)) return ASMTPD_E_INVAL;
        if (call->fx.prefix.size() >= call->limits.prefix_lines) return ASMTPD_E_LIMIT;
        call->fx.prefix.emplace_back(l);
        return ASMTPD_OK;
    } catch (const std::bad_alloc&) {
        return ASMTPD_E_NOMEM;
    } catch (...) {
        return ASMTPD_E_INVAL;
    }
}

static int host_add_header(asmtpd_call* call, const char* name, const char* value) {
    try {
        if (!call || !name || !value) return ASMTPD_E_INVAL;
        if (!call->has_transaction) return ASMTPD_E_STATE;
        std::string_view n(name), v(value);
        if (!valid_field_name(n) || has_controls(v, true, false)) return ASMTPD_E_INVAL;
        std::string field = std::string(n) + ": " + std::string(v);
        if (field.size() > call->limits.header_line) return ASMTPD_E_LIMIT;
        std::size_t total = field.size();
        for (const auto& h : call->fx.headers) total += h.size() + 2;
        if (total > call->limits.header_bytes) return ASMTPD_E_LIMIT;
        call->fx.headers.push_back(std::move(field));
        return ASMTPD_OK;
    } catch (const std::bad_alloc&) {
        return ASMTPD_E_NOMEM;
    } catch (...) {
        return ASMTPD_E_INVAL;
    }
}

static int host_set_env(asmtpd_call* call, const char* name, const char* value) {
    try {
        if (!call || !name) return ASMTPD_E_INVAL;
        std::string_view n(name);
        if (!plugins::valid_env_name(n) || n.size() > call->limits.var_bytes) return ASMTPD_E_INVAL;
        if (plugins::protected_env_name(n)) return ASMTPD_E_DENIED;
        if (value && std::strlen(value) > call->limits.var_bytes) return ASMTPD_E_LIMIT;
        if (call->fx.env.size() >= call->limits.env_changes) return ASMTPD_E_LIMIT;
        std::string key(n);
        if (value) {
            call->env[key] = value;
            call->fx.env.emplace_back(key, std::string(value));
        } else {
            call->env.erase(key);
            call->fx.env.emplace_back(key, std::nullopt);
        }
        return ASMTPD_OK;
    } catch (const std::bad_alloc&) {
        return ASMTPD_E_NOMEM;
    } catch (...) {
        return ASMTPD_E_INVAL;
    }
}

static const char* host_get_env(asmtpd_call* call, const char* name) {
    try {
        if (!call || !name) return nullptr;
        auto it = call->env.find(name);
        return it == call->env.end() ? nullptr : it->second.c_str();
    } catch (...) {
        return nullptr;
    }
}

static int host_change_address(asmtpd_call* call, const char* address) {
    try {
        if (!call || !address) return ASMTPD_E_INVAL;
        bool mail = call->hook == hooks::Hook::Mail;
        if (!mail && call->hook != hooks::Hook::Rcpt) return ASMTPD_E_STATE;
        std::string_view a(address);
        if (a.size() > call->limits.address_bytes) return ASMTPD_E_LIMIT;
        std::string path = !a.empty() && a.front() == '<' ? std::string(a) : "<" + std::string(a) + ">";
        auto parsed = proto::parse_path(path, mail ? proto::sender_rules(true) : proto::recipient_rules(true));
        if (!parsed) return ASMTPD_E_INVAL;
        call->fx.address = *parsed;
        return ASMTPD_OK;
    } catch (const std::bad_alloc&) {
        return ASMTPD_E_NOMEM;
    } catch (...) {
        return ASMTPD_E_INVAL;
    }
}

static int64_t host_body_read(const asmtpd_body_reader_v1* reader, uint64_t offset, char* buf, size_t len) {
    try {
        if (!reader || !reader->host_data || (!buf && len > 0)) return -1;
        return static_cast<const BodySource*>(reader->host_data)->read(offset, buf, len);
    } catch (...) {
        return -1;
    }
}

}  // extern "C"

void fill_host_api(asmtpd_host_api_v1& api) {
    api = asmtpd_host_api_v1{};
    api.struct_size = sizeof api;
    api.abi_major = ASMTPD_ABI_MAJOR;
    api.abi_minor = ASMTPD_ABI_MINOR;
    api.log = host_log;
    api.set_reply = host_set_reply;
    api.prefix_reply = host_prefix_reply;
    api.add_header = host_add_header;
    api.set_env = host_set_env;
    api.get_env = host_get_env;
    api.change_address = host_change_address;
}

// ---- the body ------------------------------------------------------------------------------

std::int64_t BodySource::read(std::uint64_t off, char* buf, std::size_t n) const {
    std::size_t done = 0;
    if (off < head.size()) {
        done = std::min<std::size_t>(n, head.size() - static_cast<std::size_t>(off));
        std::memcpy(buf, head.data() + off, done);
    }
    if (done < n && body) {
        std::uint64_t boff = body_offset + off + done - head.size();
        long got = body->read_at(boff, buf + done, n - done);
        if (got < 0) return done > 0 ? static_cast<std::int64_t>(done) : -1;
        done += static_cast<std::size_t>(got);
    }
    return static_cast<std::int64_t>(done);
}

// ---- the snapshot --------------------------------------------------------------------------

const char* NativeJob::keep(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back().c_str();
}

void NativeJob::capture(hooks::Context& ctx, hooks::Hook hook, const hooks::HookArgs& args,
                        const plugins::RcptHosts& rcpthosts, std::uint32_t count_all) {
    const auto& c = ctx.connection();
    hooks::Transaction* txn = ctx.transaction();
    const bool helo = hook == hooks::Hook::Helo || hook == hooks::Hook::Ehlo;

    call.hook = hook;
    call.has_transaction = txn != nullptr;
    call.env = c.env;

    info.struct_size = sizeof info;
    info.abi_major = ASMTPD_ABI_MAJOR;
    info.abi_minor = ASMTPD_ABI_MINOR;
    info.session_id = c.id;
    info.hook = keep(helo ? "helo" : hook == hooks::Hook::AuthPost ? "auth" : std::string(hooks::hook_name(hook)));
    info.remote_ip = keep(c.remote_ip);
    info.remote_port = c.remote_port;
    info.local_ip = keep(c.local_ip);
    info.local_port = c.local_port;
    info.remote_host = keep(c.remote_host);
    const auto* hello = std::get_if<hooks::HeloArgs>(&args);
    const auto* path = std::get_if<hooks::AddressArgs>(&args);
    info.helo = keep(hello ? hello->host : c.helo_host);
    if (hook == hooks::Hook::Mail && path) info.sender = keep(path->address.bare());
    else if (txn && txn->sender) info.sender = keep(txn->sender->bare());
    const bool relay = c.relay_client || c.env.count("RELAYCLIENT") > 0;
    if (hook == hooks::Hook::Rcpt && path) {
        info.rcpt = keep(path->address.bare());
        const auto& d = path->address.domain;
        if (d.empty() || relay || rcpthosts.local_domain(d)) info.flags |= ASMTPD_SESSION_RCPTHOSTS_OK;
    }
    info.rcpt_count_all = count_all;
    if (relay) info.flags |= ASMTPD_SESSION_RELAY;
    if (c.tls) info.flags |= ASMTPD_SESSION_TLS;
    if (!c.auth_user.empty()) info.flags |= ASMTPD_SESSION_AUTH;
    if (hook == hooks::Hook::Ehlo || (!helo && c.hello == proto::Hello::Ehlo)) info.flags |= ASMTPD_SESSION_ESMTP;
    info.auth_user = keep(c.auth_user);
    if (const auto* auth = std::get_if<hooks::AuthArgs>(&args)) {   // on_auth: not yet in the session
        info.auth_user = keep(auth->user);
        info.flags |= ASMTPD_SESSION_AUTH;
    }
    info.auth_method = keep(c.auth_method);
    info.server_name = keep(ctx.server().hostname);
    if (txn) {
        for (const auto& r : txn->recipients) recipients_.push_back(r.bare());
        for (const auto& r : recipients_) recipient_ptrs_.push_back(r.c_str());
    }
    recipient_ptrs_.push_back(nullptr);
    info.rcpt_count = static_cast<std::uint32_t>(recipients_.size());
    info.recipients = recipient_ptrs_.data();

    if (hook == hooks::Hook::DataPost && txn) {
        source.head = txn->header_prefix();
        source.body = txn->body;
        source.body_offset = txn->body_offset;
        info.message_size = source.size();
    }
    reader.struct_size = sizeof reader;
    reader.abi_major = ASMTPD_ABI_MAJOR;
    reader.abi_minor = ASMTPD_ABI_MINOR;
    reader.size = source.size();
    reader.read = host_body_read;
    reader.host_data = &source;
}

void NativeJob::run(const asmtpd_plugin_v1& p) {
    asmtpd_hook_fn_v1 fn = nullptr;
    switch (call.hook) {
        case hooks::Hook::Connect: fn = p.on_connect; break;
        case hooks::Hook::Helo:
        case hooks::Hook::Ehlo: fn = p.on_helo; break;
        case hooks::Hook::Mail: fn = p.on_mail; break;
        case hooks::Hook::Rcpt: fn = p.on_rcpt; break;
        case hooks::Hook::Data: fn = p.on_data_start; break;
        case hooks::Hook::AuthPost: fn = p.on_auth; break;
        default: break;
    }
    try {
        if (call.hook == hooks::Hook::DataPost) {
            if (p.on_data_end) rc = p.on_data_end(p.self, &call, &info, &reader);
        } else if (fn) {
            rc = fn(p.self, &call, &info);
        }
    } catch (...) {
        threw = true;
    }
}

// ---- verdicts and effects ------------------------------------------------------------------

NativeOutcome native_verdict(hooks::Hook hook, int rc, const CallEffects& fx) {
    NativeOutcome o;
    switch (rc) {
        case ASMTPD_CONTINUE:
        case ASMTPD_ACCEPT_CMD: break;
        case ASMTPD_SKIP_BUILTIN: o.verdict = hooks::Verdict::ok(); break;
        case ASMTPD_DISABLE_PLUGINS: o.disable = true; break;
        case ASMTPD_REJECT:
        case ASMTPD_REJECT_CLOSE: {
            const bool soft = fx.reply && fx.reply->code < 500;
            const bool close = rc == ASMTPD_REJECT_CLOSE;
            o.verdict.result = close ? (soft ? hooks::Result::DenySoftDisconnect : hooks::Result::DenyDisconnect)
                                     : (soft ? hooks::Result::DenySoft : hooks::Result::Deny);
            o.verdict.reply = fx.reply;
            o.verdict.verbatim = fx.reply && !fx.default_esc;
            // As qmail-spp's E: a refused connect replaces the greeting, a refused DATA keeps
            // the transaction.
            if (!close && hook == hooks::Hook::Connect) o.verdict.keep_session = true;
            if (!close && hook == hooks::Hook::Data) o.verdict.keep_transaction = true;
            break;
        }
        case ASMTPD_DROP:
            o.verdict = hooks::Verdict::deny_disconnect();
            o.verdict.close_silently = true;
            break;
        default:
            o.bad_return = true;
            o.verdict = hooks::Verdict::deny_soft("plugin error");
            break;
    }
    return o;
}

void apply_effects(hooks::Context& ctx, const io::Log& log, hooks::Hook hook, CallEffects& fx,
                   hooks::Verdict& v) {
    for (auto& [level, text] : fx.logs) log.log(level, "{}", text);
    auto& env = ctx.connection().env;
    for (auto& [name, value] : fx.env) {
        if (value) env[name] = std::move(*value);
        else env.erase(name);
    }
    if (hooks::Transaction* txn = ctx.transaction())
        for (auto& h : fx.headers) txn->added_headers.push_back(std::move(h));
    if (fx.address && (hook == hooks::Hook::Mail || hook == hooks::Hook::Rcpt) && !hooks::is_deny(v.result))
        v.address = std::move(*fx.address);
    for (auto& p : fx.prefix) ctx.prefix_reply(std::move(p));
}

}  // namespace asmtpd::plugins::dso
