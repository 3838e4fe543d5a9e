// NAME
//   queue/qmail-queue - hand accepted mail to qmail-queue (or any program with its interface).
// SYNOPSIS
//   queue/qmail-queue [PATH] [timeout SECONDS] [env NAME=VALUE]...
//     PATH      the program; default /var/qmail/bin/qmail-queue. A QMAILQUEUE variable in the
//               connection's environment (tcp.env, spp "S") overrides it per message, as in
//               qmail. An explicit PATH with a '/' must exist and be executable at start-up; a
//               relative one is taken from the config directory.
//     timeout   seconds (fractions allowed) for one hand-off, queueing for a free child slot
//               included; default asmtpd.yaml's plugin timeout. Past it the program's process
//               group gets SIGTERM (SIGKILL 2 s later) and the message gets 451. The hook's own
//               deadline is set 4 s later, so this plugin's answer (with its reason) comes first.
//     env       NAME=VALUE added to the program's environment (repeatable; later wins). Meant for
//               wrappers and tests (the fake-qmail-queue fixture reads FAKEQQ_*).
// ENVIRONMENT of the program (never the server's own):
//   PATH=/usr/local/bin:/usr/bin:/bin, then tcpserver's PROTO TCPLOCALIP TCPLOCALPORT
//   TCPREMOTEIP TCPREMOTEPORT [TCPREMOTEHOST] [RELAYCLIENT], then the connection's environment,
//   then the `env` arguments; names must be [A-Za-z_][A-Za-z0-9_]*, values without NUL.
// HOOKS
//   queue: runs the program with the message (header prefix, then the body spool from the
//   transaction's body_offset, streamed) on
//   fd 0, the envelope "F<sender>\0" "T<rcpt>\0"... "\0" on fd 1 (addresses unquoted, as
//   qmail-smtpd writes them; "" for <>), and a pipe on fd 6 for notqmail's custom errors. Its
//   exit status maps exactly as qmail-smtpd's qmail_close(): 0 -> OK "Queued! <time> qp <pid>"
//   (250), unless the message could not be written in full; 11, 31 and the rest of 11..40 ->
//   DENY (554 5.x.x); 82 -> fd 6's "D<text>" DENY / "Z<text>" DENYSOFT; everything else, a
//   signal, a timeout, a failed exec or a short write -> DENYSOFT 451 with the reason.
// Rules: never answer OK unless the program exited 0 after reading all of the message and the
// envelope (P1/P2). The HookCall is resolved only from the child's completion; if the session
// ends first the hand-off still finishes (the program may already have queued the message)
// and the late answer is dropped. The ChildHandle lives in a holder owned by the completion
// callback, so it survives the session and is freed when the callback runs or is dropped.
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/common/child_env.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

constexpr const char* kDefaultPath = "/var/qmail/bin/qmail-queue";
constexpr std::chrono::milliseconds kDeadlineSlack{4000};   // SIGKILL escalation + eof grace + margin
constexpr std::size_t kFd6Limit = 1000;                       // custom error text we keep

hooks::Verdict deny(std::string_view esc, std::string text) {
    auto reply = proto::Reply::make(554, esc, text);
    return hooks::Verdict{hooks::Result::Deny, std::move(text), std::move(reply)};
}

hooks::Verdict soft(std::string_view esc, std::string text) {
    auto reply = proto::Reply::make(451, esc, text);
    return hooks::Verdict{hooks::Result::DenySoft, std::move(text), std::move(reply)};
}

// qmail-queue(8)'s meaning of a temporary exit code, worded as qmail_close() does.
std::optional<std::pair<std::string_view, std::string_view>> temporary_meaning(std::int64_t code) {
    switch (code) {
        case 51: return {{"4.3.0", "qq out of memory"}};
        case 52: return {{"4.3.0", "qq timeout"}};
        case 53: return {{"4.3.0", "qq write error or disk full"}};
        case 54: return {{"4.3.0", "qq read error (unable to read the message or envelope)"}};
        case 55: return {{"4.3.0", "qq unable to read configuration"}};
        case 56: return {{"4.3.0", "qq trouble making network connection"}};
        case 61: return {{"4.3.0", "qq trouble in home directory"}};
        case 62: return {{"4.3.0", "qq trouble creating files in queue (queue directory)"}};
        case 63: return {{"4.3.0", "qq trouble creating files in queue (queue/pid)"}};
        case 64: return {{"4.3.0", "qq trouble creating files in queue (queue/mess)"}};
        case 65: return {{"4.3.0", "qq trouble creating files in queue (queue/intd)"}};
        case 66: return {{"4.3.0", "qq trouble creating files in queue (queue/todo)"}};
        case 71: return {{"4.3.0", "mail server temporarily rejected message"}};
        case 72: return {{"4.4.1", "connection to mail server timed out"}};
        case 73: return {{"4.4.1", "connection to mail server rejected"}};
        case 74: return {{"4.4.2", "communication with mail server failed"}};
        case 81: return {{"4.3.0", "qq internal bug"}};
        case 91: return {{"4.3.0", "qq envelope format error"}};
        case 120: return {{"4.3.0", "unable to exec qq"}};
        default: return std::nullopt;
    }
}

// fd 6 text after exit 82: one line, no controls, bounded (it reaches the client).
std::string custom_text(std::string_view raw) {
    raw = raw.substr(0, raw.find_first_of("\r\n"));
    std::string out;
    for (char c : raw.substr(0, kFd6Limit)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 32 && u != 127) out.push_back(c);
    }
    return out;
}

// The whole of qmail_close(), plus what an event loop adds (timeout, exec failure).
hooks::Verdict verdict_for(const io::ChildResult& r) {
    if (!r.spawned) {
        if (r.timed_out) return soft("4.3.0", "qq busy: " + r.error);
        return soft("4.3.0", "unable to exec qq: " + r.error);
    }
    if (r.timed_out)
        return soft("4.3.0", r.term_signal != 0 ? "qq timeout (killed by signal " + std::to_string(r.term_signal) + ")"
                                                : "qq timeout");
    if (r.term_signal != 0) return soft("4.3.0", "qq crashed (signal " + std::to_string(r.term_signal) + ")");
    const std::int64_t code = r.exit_status;
    if (code == 0) {
        if (r.input_failed) return soft("4.3.0", "qq read error (the message was not written in full)");
        return hooks::Verdict::ok("Queued! " + std::to_string(std::time(nullptr)) + " qp " + std::to_string(r.pid));
    }
    if (code == 11 || code == 115) return deny("5.1.3", "Envelope address too long for qq");
    if (code == 31) return deny("5.3.0", "Mail server permanently rejected message");
    if (code == 82) {
        const std::string& fd6 = r.extra_out.empty() ? std::string() : r.extra_out.front();
        std::string text = custom_text(fd6.size() > 1 ? std::string_view(fd6).substr(1) : std::string_view());
        if (!fd6.empty() && fd6[0] == 'D' && !text.empty()) return deny("5.3.0", text);
        if (!fd6.empty() && fd6[0] == 'Z' && !text.empty()) return soft("4.3.0", text);
        return soft("4.3.0", "qq temporary problem (exit 82 without a custom error)");
    }
    if (code >= 11 && code <= 40) return deny("5.3.0", "qq permanent problem (exit " + std::to_string(code) + ")");
    if (auto m = temporary_meaning(code)) return soft(m->first, std::string(m->second));
    return soft("4.3.0", "qq temporary problem (exit " + std::to_string(code) + ")");
}

// qmail-smtpd keeps the local part unquoted; a domain-less address (postmaster) stays bare.
std::string envelope_address(const proto::Address& a) {
    if (a.is_null()) return {};
    return a.domain.empty() ? a.local : a.local + "@" + a.domain;
}

// What the completion needs after the session may be gone.
struct Pending {
    hooks::HookCall call;
    io::ChildHandle child;
    io::Log log;
    ~Pending() {
        // Dropped unrun (the runner was torn down at shutdown): answer, don't leave a bug report.
        if (!call.resolved()) call.resolve(soft("4.3.0", "qq interrupted (server shutting down)"));
    }
};

class QmailQueue final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        std::optional<std::string> path;
        std::uint64_t timeout_ms = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& w = args[i];
            if (plugins::is_child_option(w)) {
                if (auto e = plugins::take_child_option(args, i, timeout_ms, extra_env_)) return e;
                continue;
            }
            if (path) return "unexpected argument '" + w + "' (usage: [PATH] [timeout SECONDS] [env NAME=VALUE]...)";
            if (w.empty()) return "empty program path";
            path = w.find('/') != std::string::npos ? in.server.path(w) : w;   // relative: from the config directory
            if (w.find('/') != std::string::npos && ::access(path->c_str(), X_OK) != 0)
                return "program '" + *path + "' is not executable";
        }
        path_ = path.value_or(kDefaultPath);
        timeout_ms_ = timeout_ms;
        set_timeout(std::chrono::milliseconds(timeout_ms) + kDeadlineSlack);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Queue>(&QmailQueue::on_queue); }

private:
    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const hooks::Transaction* txn = ctx.transaction();
        if (!txn || !txn->body || txn->body->failed()) {
            ctx.log().error("queue/qmail-queue: no message body to queue");
            return call.resolve(soft("4.3.0", "qq read error (no message body)"));
        }
        if (txn->recipients.empty()) return call.resolve(soft("4.3.0", "qq envelope format error (no recipients)"));

        std::string envelope = "F" + (txn->sender ? envelope_address(*txn->sender) : std::string()) + '\0';
        for (const auto& r : txn->recipients) envelope += "T" + envelope_address(r) + '\0';
        envelope += '\0';
        // One stray NUL would split a record and forge a recipient (RELIABILITY.md §2).
        const std::size_t records = txn->recipients.size() + 2;
        if (static_cast<std::size_t>(std::count(envelope.begin(), envelope.end(), '\0')) != records) {
            ctx.log().error("queue/qmail-queue: NUL inside an envelope address; refusing");
            return call.resolve(deny("5.1.3", "Envelope address invalid for qq"));
        }

        io::ChildSpec spec;
        const auto& conn = ctx.connection();
        auto qq = conn.env.find("QMAILQUEUE");
        spec.program = (qq != conn.env.end() && !qq->second.empty()) ? qq->second : path_;
        spec.env = plugins::tcpserver_environment(conn, extra_env_);
        spec.stdin_data = txn->header_prefix();
        spec.stdin_spool = txn->body;
        spec.stdin_spool_offset = txn->body_offset;
        spec.capture_stdout = false;
        spec.input_fds.push_back({1, std::move(envelope)});
        spec.output_fds.push_back(6);
        spec.stdout_limit = kFd6Limit * 4;
        spec.timeout_ms = timeout_ms_;
        io::Log log = ctx.log();
        spec.on_stderr = [log](std::string_view line) { log.warn("queue/qmail-queue: stderr: {}", line); };

        auto pending = std::make_shared<Pending>();
        pending->call = std::move(call);
        pending->log = log;
        const std::string program = spec.program;
        const std::uint64_t size = txn->message_size();
        pending->child = ctx.children().run(std::move(spec), [pending, program, size](io::ChildResult r) {
            hooks::Verdict v = verdict_for(r);
            if (v.result == hooks::Result::Ok)
                pending->log.info("queue/qmail-queue: {} pid {} took {} bytes: {}", program, r.pid, size, v.text);
            else
                pending->log.warn("queue/qmail-queue: {} pid {}: {} ({})", program, r.pid, v.text,
                                  hooks::to_string(v.result));
            pending->call.resolve(std::move(v));
            // The handle's job is over; letting go here breaks the holder <-> callback cycle.
            pending->child = io::ChildHandle();
        });
    }

    std::string path_;
    std::uint64_t timeout_ms_ = 30000;
    plugins::EnvMap extra_env_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_queue_qmail_queue() { return std::make_unique<QmailQueue>(); }

}  // namespace asmtpd::plugins
