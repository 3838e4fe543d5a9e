// NAME
//   virus/clamdscan - scans each message with ClamAV's clamd (zINSTREAM) and refuses viruses.
// SYNOPSIS
//   virus/clamdscan [clamd_socket /path|HOST:PORT] [clamd_port PORT] [max_size KBYTES]
//                   [deny_viruses yes|no] [defer_on_error yes|no] [timeout SECONDS] [scan_all 1]
//   Defaults: clamd_socket /var/run/clamav/clamd.ctl (Debian's LocalSocket; HOST is an IP
//   literal or localhost, port 3310 when not given), max_size 128 (kilobytes, qpsmtpd's),
//   deny_viruses yes, defer_on_error no, timeout 20 (the whole scan; the plugin's own
//   deadline is raised to timeout + 2 s when the configured plugin timeout is shorter).
//   clamd_port N is qpsmtpd's way to say 127.0.0.1:N. Every message is scanned, whatever its
//   Content-Type (qpsmtpd's scan_all 1; its default skip of non-multipart mail is not kept:
//   a plain message can carry a phishing signature, and clamd scans it in microseconds).
// HOOKS
//   data_post: a message over max_size is skipped (logged). Otherwise one connection to
//   clamd per message: "zINSTREAM\0", the Received and plugin headers and the spool in
//   chunks (4-byte big-endian length, then the bytes; a zero length ends), and clamd's one
//   line back (core/proto/clamd_reply):
//   - "stream: NAME FOUND" with deny_viruses yes: 552 5.7.1 "Virus found: NAME"; with
//     deny_viruses no: headers X-Virus-Found: Yes and X-Virus-Details: NAME;
//   - "stream: OK": header X-Virus-Found: No;
//   - either way (when not refused) X-Virus-Checked: "Checked by ClamAV on <hostname>";
//   - clamd down, slow past timeout, an ERROR reply (e.g. clamd's StreamMaxLength) or
//     garbage: defer_on_error yes answers 451 4.3.0 "Unable to scan for viruses", no logs
//     it and accepts the message unscanned (qpsmtpd's behaviour and default).
//   Relay clients and authenticated users are scanned too (qpsmtpd's clamdscan does not
//   skip them: a virus from a customer's infected PC is exactly what to stop on the way out).
// NOTES (transaction)
//   "clamdscan": "clean", "found NAME" or "error WHY" once clamd was asked; not set when
//   the message was skipped.
// LOG
//   "clamdscan: pass, clean (4 ms)", "clamdscan: fail, virus found: NAME (denied|tagged)",
//   "clamdscan: skip, too large (N > 131072)", "clamdscan: error, clamd unix:/run/...: WHY;
//   deferred|accepted unscanned".
// Rules: as spamassassin (core/client/scan_exchange; the answer touches the transaction only
// while the chain waits; settings by shared_ptr).
#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/client/scan_exchange.hpp"
#include "core/proto/clamd_reply.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::uint16_t kClamdPort = 3310;
constexpr const char* kDefaultSocket = "/var/run/clamav/clamd.ctl";
constexpr std::uint64_t kDefaultMaxKb = 128;
constexpr std::uint64_t kDefaultTimeoutMs = 20000;
constexpr std::size_t kMaxReply = 4096;

struct Settings {
    client::NextHop clamd;
    std::uint64_t max_size = kDefaultMaxKb * 1024;
    bool deny_viruses = true;
    bool defer_on_error = false;
    std::uint64_t timeout_ms = kDefaultTimeoutMs;
    std::string hostname;
};

std::optional<bool> yes_no(const std::string& v) {
    if (v == "yes" || v == "1") return true;
    if (v == "no" || v == "0") return false;
    return std::nullopt;
}

class ClamdScan final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        if (auto err = args.parse(in.line.args, {"clamd_socket", "clamd_port", "max_size", "deny_viruses",
                                                  "defer_on_error", "timeout", "scan_all"}))
            return err;
        auto s = std::make_shared<Settings>();
        std::string where = args.get("clamd_socket").value_or(kDefaultSocket);
        if (auto p = args.get("clamd_port")) {
            if (args.has("clamd_socket")) return "give clamd_socket or clamd_port, not both";
            auto n = proto::parse_count(*p);
            if (!n || *n == 0 || *n > 65535) return "bad clamd_port '" + *p + "'";
            where = "127.0.0.1:" + *p;
        }
        auto target = scanner_target(where, kClamdPort, "clamd_socket");
        if (!target) return target.error;
        s->clamd = *target.hop;
        if (auto v = args.get("max_size")) {
            auto n = proto::parse_count(*v);
            if (!n || *n == 0 || *n > (1ull << 32)) return "bad max_size '" + *v + "' (kilobytes)";
            s->max_size = *n * 1024;
        }
        for (auto [key, field] :
             {std::pair{"deny_viruses", &s->deny_viruses}, std::pair{"defer_on_error", &s->defer_on_error}}) {
            if (auto v = args.get(key)) {
                auto b = yes_no(*v);
                if (!b) return std::string("bad ") + key + " '" + *v + "' (yes or no)";
                *field = *b;
            }
        }
        if (auto v = args.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return "bad timeout '" + *v + "'";
            s->timeout_ms = *ms;
        }
        if (auto v = args.get("scan_all"); v && *v != "1")
            return "scan_all " + *v + " is not supported: every message is scanned (scan_all 1)";
        s->hostname = in.server.hostname;
        const auto mine = std::chrono::milliseconds(s->timeout_ms + 2000);
        if (timeout() < mine) set_timeout(mine);
        settings_ = std::move(s);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&ClamdScan::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& s = *settings_;
        hooks::Transaction* t = ctx.transaction();
        if (!t || !t->body || t->body->failed()) return call.declined();
        client::ScanRequest req;
        req.target = s.clamd;
        req.head = std::string("zINSTREAM\0", 10);
        req.message_prefix = t->header_prefix();
        req.body = t->body;
        req.body_offset = t->body_offset;
        req.framing = client::ScanFraming::Chunked;
        const auto size = client::scan_message_size(req);
        if (size > s.max_size) {
            ctx.log().info("clamdscan: skip, too large ({} > {})", size, s.max_size);
            return call.declined();
        }
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

    static hooks::Verdict failed(hooks::Transaction& t, const Settings& s, const io::Log& log, const std::string& why) {
        log.warn("clamdscan: error, clamd {}: {}; {}", s.clamd.describe(), why,
                 s.defer_on_error ? "deferred" : "accepted unscanned");
        t.notes["clamdscan"] = "error " + why;
        if (!s.defer_on_error) return hooks::Verdict::declined();
        hooks::Verdict v = hooks::Verdict::deny_soft();
        v.reply = proto::Reply::make(451, "4.3.0", "Unable to scan for viruses");
        return v;
    }

    static hooks::Verdict answer(hooks::Context& ctx, const Settings& s, const io::Log& log, client::ScanOutcome o) {
        hooks::Transaction* t = ctx.transaction();
        if (!t) return hooks::Verdict::declined();
        if (!o.ok()) return failed(*t, s, log, o.error);
        const auto r = proto::parse_clamd_reply(o.reply);
        switch (r.kind) {
        case proto::ClamdReply::Kind::Malformed: return failed(*t, s, log, r.text);
        case proto::ClamdReply::Kind::Error: return failed(*t, s, log, "clamd: " + r.text);
        case proto::ClamdReply::Kind::Found:
            t->notes["clamdscan"] = "found " + r.text;
            log.warn("clamdscan: fail, virus found: {} ({}, {} ms)", r.text, s.deny_viruses ? "denied" : "tagged",
                     o.elapsed_ms);
            if (s.deny_viruses) return hooks::Verdict::deny("Virus found: " + r.text);
            t->added_headers.push_back("X-Virus-Found: Yes");
            t->added_headers.push_back("X-Virus-Details: " + r.text);
            break;
        case proto::ClamdReply::Kind::Clean:
            t->notes["clamdscan"] = "clean";
            log.info("clamdscan: pass, clean ({} ms)", o.elapsed_ms);
            t->added_headers.push_back("X-Virus-Found: No");
            break;
        }
        t->added_headers.push_back("X-Virus-Checked: Checked by ClamAV on " + s.hostname);
        return hooks::Verdict::declined();
    }

    std::shared_ptr<const Settings> settings_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_virus_clamdscan() { return std::make_unique<ClamdScan>(); }

}  // namespace asmtpd::plugins
