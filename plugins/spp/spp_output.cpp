// spp_output.cpp - qmail-spp's output language (SPP.md §2) as pure functions.
//
// The order of the checks after a run mirrors qmail-spp's spp(): the child's fate first (our
// spawn / timeout / output-cap failures, then a crash, then exit 120), then our reply framing
// check, then the terminator. Exit codes other than 120 never matter.
#include "plugins/common/child_env.hpp"
#include "plugins/spp/spp_output.hpp"

#include <fmt/format.h>

#include "core/proto/address.hpp"
#include "plugins/spp/spp_env.hpp"

namespace asmtpd::plugins::spp {

namespace {

bool has_any(std::string_view s, std::string_view chars) { return s.find_first_of(chars) != std::string_view::npos; }

std::string note(const ProgramLine& prog, std::string_view what) { return fmt::format("\"{}\": {}", prog.line, what); }

// Printable excerpt of plugin text for the log.
std::string excerpt(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    if (s.size() > 200) out += "...";
    return out;
}

void add_header(const ProgramLine& prog, std::string_view arg, CommandScope& scope, ChainResult& r) {
    SppState& st = *scope.state;
    if (arg.empty()) {
        r.notes.push_back(note(prog, "empty H line ignored (it would end the message header)"));
        return;
    }
    if (arg.size() > scope.limits.max_header_line) {
        r.notes.push_back(note(prog, fmt::format("H line of {} bytes ignored (limit {})", arg.size(),
                                                 scope.limits.max_header_line)));
        return;
    }
    if (st.header_bytes + arg.size() + 1 > scope.limits.max_header_bytes) {
        r.notes.push_back(note(prog, "H line ignored: the message's added headers are at their size limit"));
        return;
    }
    if (arg.front() == ' ' || arg.front() == '\t') {
        if (st.headers.empty()) {
            r.notes.push_back(note(prog, "H continuation line with no header before it ignored"));
            return;
        }
        st.headers.back() += '\n';
        st.headers.back() += arg;
    } else {
        st.headers.emplace_back(arg);
    }
    st.header_bytes += arg.size() + 1;
}

void change_address(const ProgramLine& prog, std::string_view arg, CommandScope& scope, ChainResult& r) {
    const bool mail = scope.section == Section::Mail;
    // qmail-spp: C only where there is an address ([pass] runs with SMTPRCPTTO's, in sagredo)
    if (!mail && scope.section != Section::Rcpt && scope.section != Section::Pass) return;
    if (arg.size() > scope.limits.max_address || has_any(arg, std::string_view("\0\r\n", 3))) {
        r.notes.push_back(note(prog, "C address ignored (too long, or holds NUL, CR or LF)"));
        return;
    }
    proto::AddressRules rules = mail ? proto::sender_rules(true) : proto::recipient_rules(true);
    if (!proto::parse_path("<" + std::string(arg) + ">", rules)) {
        r.notes.push_back(note(prog, fmt::format("C address '{}' ignored: not a valid address", excerpt(arg))));
        return;
    }
    (*scope.env)[mail ? "SMTPMAILFROM" : "SMTPRCPTTO"] = std::string(arg);
    r.address = std::string(arg);
}

void set_var(const ProgramLine& prog, std::string_view arg, CommandScope& scope, ChainResult& r) {
    auto eq = arg.find('=');
    if (eq == std::string_view::npos) {
        r.notes.push_back(note(prog, fmt::format("S without '=' ignored: '{}'", excerpt(arg))));
        return;
    }
    std::string_view name = arg.substr(0, eq), value = arg.substr(eq + 1);
    static const std::vector<std::string> kNone;
    const auto& extra = scope.protected_names ? *scope.protected_names : kNone;
    if (!plugins::valid_env_name(name)) {
        r.notes.push_back(note(prog, fmt::format("S with invalid name '{}' ignored", excerpt(name))));
    } else if (plugins::protected_env_name(name, extra)) {
        r.notes.push_back(note(prog, fmt::format("S {} refused: protected variable", name)));
    } else if (name.size() > scope.limits.max_var || value.size() > scope.limits.max_var) {
        r.notes.push_back(note(prog, fmt::format("S {} ignored: longer than {} bytes", excerpt(name), scope.limits.max_var)));
    } else if (value.find('\0') != std::string_view::npos) {
        r.notes.push_back(note(prog, fmt::format("S {} ignored: value holds NUL", name)));
    } else if (scope.state->sets >= scope.limits.max_sets) {
        r.notes.push_back(note(prog, fmt::format("S {} ignored: {} variables already set this session", name,
                                                 scope.limits.max_sets)));
    } else {
        (*scope.env)[std::string(name)] = std::string(value);
        ++scope.state->sets;
    }
}

void unset_var(const ProgramLine& prog, std::string_view name, CommandScope& scope, ChainResult& r) {
    static const std::vector<std::string> kNone;
    const auto& extra = scope.protected_names ? *scope.protected_names : kNone;
    if (!plugins::valid_env_name(name)) {
        r.notes.push_back(note(prog, fmt::format("U with invalid name '{}' ignored", excerpt(name))));
    } else if (plugins::protected_env_name(name, extra)) {
        r.notes.push_back(note(prog, fmt::format("U {} refused: protected variable", name)));
    } else {
        scope.env->erase(std::string(name));
    }
}

void defer(const ProgramLine& prog, std::string_view arg, CommandScope& scope, ChainResult& r) {
    if (arg.empty()) return;
    Deferred d;
    switch (arg.front()) {
        case 'M': d = Deferred::Mail; break;
        case 'R': d = Deferred::Rcpt; break;
        case 'D': d = Deferred::Data; break;
        default: return;   // qmail-spp ignores L followed by anything else
    }
    std::string_view text = arg.substr(1);
    auto rl = parse_reply_line(text);
    if (!rl || rl->code < 400) {
        r.notes.push_back(note(prog, fmt::format("L{} '{}' ignored: not a 4xx/5xx reply line", arg.front(), excerpt(text))));
        return;
    }
    auto& q = scope.state->queue(d);
    std::size_t used = 0;
    for (const auto& l : q) used += l.size() + 2;
    if (used + text.size() + 2 > scope.limits.max_deferred) {
        r.notes.push_back(note(prog, fmt::format("L{} ignored: the deferred queue is full", arg.front())));
        return;
    }
    q.emplace_back(text);
}

ChainResult::Kind kind_of(char terminator) {
    switch (terminator) {
        case 'A': return ChainResult::Kind::Disable;
        case 'N': return ChainResult::Kind::Accept;
        case 'O': return ChainResult::Kind::Override;
        case 'E': return ChainResult::Kind::Reject;
        case 'R': return ChainResult::Kind::RejectClose;
        default: return ChainResult::Kind::Drop;   // 'D'
    }
}

proto::Reply verbatim_reply(int code, const std::vector<ReplyLine>& prefix, const std::string* last) {
    proto::Reply rep;
    rep.code = code;
    for (const auto& p : prefix) rep.lines.push_back(p.text);
    if (last) rep.lines.push_back(*last);
    if (rep.lines.empty()) rep.lines.emplace_back();
    return rep;
}

hooks::Verdict refusal(bool soft, bool disconnect, proto::Reply reply) {
    hooks::Verdict v;
    v.result = disconnect ? (soft ? hooks::Result::DenySoftDisconnect : hooks::Result::DenyDisconnect)
                          : (soft ? hooks::Result::DenySoft : hooks::Result::Deny);
    v.reply = std::move(reply);
    v.verbatim = true;
    return v;
}

// qmail keeps going after a refused connect (the text is the greeting) and keeps the
// transaction after a refused DATA; say so to the session.
void keep_state(Section s, hooks::Verdict& v) {
    if (s == Section::Connection) v.keep_session = true;
    if (s == Section::Data) v.keep_transaction = true;
}

}  // namespace

bool is_terminator(char c) { return c == 'A' || c == 'N' || c == 'O' || c == 'E' || c == 'R' || c == 'D'; }

ParsedOutput parse_output(std::string_view out, bool truncated, const OutputLimits& limits) {
    ParsedOutput p;
    std::size_t pos = 0, count = 0;
    while (pos < out.size()) {
        std::size_t nl = out.find('\n', pos);
        std::string_view line;
        if (nl == std::string_view::npos) {
            if (truncated) break;   // a cut line is not a line
            line = out.substr(pos);
            pos = out.size();
            p.unterminated_last = true;
        } else {
            line = out.substr(pos, nl - pos);
            pos = nl + 1;
        }
        if (++count > limits.max_lines || line.size() > limits.max_line) {
            p.too_large = true;
            return p;
        }
        if (line.empty()) continue;   // qmail-spp: a line of length <= 1 with its '\n'
        p.lines.push_back({line.front(), std::string(line.substr(1))});
        if (is_terminator(line.front())) {
            p.terminated = true;
            return p;
        }
    }
    if (truncated) p.too_large = true;
    return p;
}

std::optional<ReplyLine> parse_reply_line(std::string_view s) {
    if (s.size() < 3) return std::nullopt;
    for (int i = 0; i < 3; ++i)
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (code < 200 || code > 599) return std::nullopt;
    if (s.size() > 3 && s[3] != ' ' && s[3] != '-') return std::nullopt;
    return ReplyLine{code, std::string(s.size() > 4 ? s.substr(4) : std::string_view())};
}

std::string_view failure_reason(Failure f) {
    switch (f) {
        case Failure::CantExecute: return "can't execute";
        case Failure::ForkFailed: return "fork() failed";
        case Failure::Crashed: return "child crashed";
        case Failure::Timeout: return "timeout";
        case Failure::Busy: return "busy";
        case Failure::TooLarge: return "output too large";
        case Failure::Malformed: return "malformed reply";
        case Failure::None: break;
    }
    return "failure";
}

proto::Reply failure_reply(std::string_view line, Failure f) {
    proto::Reply r;
    r.code = 451;
    r.lines.push_back(fmt::format("qmail-spp failure: {}: {} (#4.3.0)", line, failure_reason(f)));
    return r;
}

void SppState::clear_buffers() {
    headers.clear();
    header_bytes = 0;
    for (auto& q : deferred) q.clear();
}

void fail_chain(const ProgramLine& prog, Failure f, ChainResult& r) {
    r.kind = ChainResult::Kind::Failure;
    r.failure = f;
    r.by = prog.line;
    if (!r.prefix.empty())
        r.notes.push_back(note(prog, fmt::format("{} P line(s) dropped: the command failed", r.prefix.size())));
    r.prefix.clear();
    r.reply.reset();
}

bool apply_run(const ProgramLine& prog, const ParsedOutput& out, const RunFacts& facts, CommandScope& scope,
               ChainResult& r) {
    std::vector<ReplyLine> run_prefix;
    const OutputLine* term = nullptr;
    std::optional<ReplyLine> term_reply;
    bool malformed = false;

    for (const auto& l : out.lines) {
        switch (l.cmd) {
            case 'H': add_header(prog, l.arg, scope, r); break;
            case 'C': change_address(prog, l.arg, scope, r); break;
            case 'S': set_var(prog, l.arg, scope, r); break;
            case 'U': unset_var(prog, l.arg, scope, r); break;
            case 'L': defer(prog, l.arg, scope, r); break;
            case 'P':
                if (auto rl = parse_reply_line(l.arg)) run_prefix.push_back(std::move(*rl));
                else {
                    malformed = true;
                    r.notes.push_back(note(prog, fmt::format("malformed P line '{}'", excerpt(l.arg))));
                }
                break;
            case 'A':
                scope.state->disabled = true;   // at once, as qmail-spp's spprun = 0
                term = &l;
                break;
            case 'N': case 'O': case 'D': term = &l; break;
            case 'E': case 'R':
                term = &l;
                term_reply = parse_reply_line(l.arg);
                if (!term_reply || term_reply->code < 400) {
                    malformed = true;
                    term_reply.reset();
                    r.notes.push_back(note(prog, fmt::format("malformed {} line '{}'", l.cmd, excerpt(l.arg))));
                }
                break;
            default: break;   // unknown commands, lower case included, are ignored
        }
    }

    Failure f = Failure::None;
    if (!facts.spawned) {
        f = facts.timed_out ? Failure::Busy
            : facts.spawn_error == RunFacts::SpawnError::Resources ? Failure::ForkFailed
                                                                   : Failure::CantExecute;
    } else if (facts.timed_out) {
        f = Failure::Timeout;
    } else if (out.too_large || (facts.truncated && !out.terminated)) {
        f = Failure::TooLarge;
    } else if (facts.term_signal != 0 && !(facts.truncated && out.terminated)) {
        f = Failure::Crashed;   // a group we killed for flooding after its terminator is not a crash
    } else if (facts.term_signal == 0 && facts.exit_status == 120) {
        f = Failure::CantExecute;
    } else if (malformed) {
        f = Failure::Malformed;
    }
    if (f != Failure::None) {
        if (term && (term->cmd == 'E' || term->cmd == 'R') && f != Failure::Malformed)
            r.notes.push_back(note(prog, fmt::format("{} text dropped: the run failed: '{}'", term->cmd, excerpt(term->arg))));
        fail_chain(prog, f, r);
        return true;
    }
    if (prog.shell && facts.term_signal == 0 && (facts.exit_status == 126 || facts.exit_status == 127))
        r.notes.push_back(note(prog, fmt::format("/bin/sh exited {} (command not found or not executable); "
                                                 "going on as qmail-spp does", facts.exit_status)));
    if (out.unterminated_last) r.notes.push_back(note(prog, "last output line had no newline; used as complete"));

    for (auto& p : run_prefix) r.prefix.push_back(std::move(p));
    if (!term) return false;
    r.kind = kind_of(term->cmd);
    r.by = prog.line;
    r.reply = std::move(term_reply);
    return true;
}

VerdictPlan plan_verdict(Section s, const ChainResult& r) {
    VerdictPlan plan;
    auto prefix_texts = [&r] {
        std::vector<std::string> t;
        for (const auto& p : r.prefix) t.push_back(fmt::format("{}-{}", p.code, p.text));
        return t;
    };
    switch (r.kind) {
        case ChainResult::Kind::Continue:
        case ChainResult::Kind::Accept:
        case ChainResult::Kind::Disable:
            plan.prefix = prefix_texts();
            break;
        case ChainResult::Kind::Override:
            plan.verdict = hooks::Verdict::ok();
            plan.prefix = prefix_texts();
            break;
        case ChainResult::Kind::Reject:
        case ChainResult::Kind::RejectClose: {
            const ReplyLine& last = *r.reply;
            bool close = r.kind == ChainResult::Kind::RejectClose;
            plan.verdict = refusal(last.code < 500, close, verbatim_reply(last.code, r.prefix, &last.text));
            if (!close) keep_state(s, plan.verdict);
            break;
        }
        case ChainResult::Kind::Drop: {
            // qmail-spp flushes earlier P lines before it exits: send them as the last reply
            // when they make a refusal; anything else is dropped and the connection just ends.
            int code = r.prefix.empty() ? 0 : r.prefix.back().code;
            if (code >= 400) {
                plan.verdict = refusal(code < 500, true, verbatim_reply(code, r.prefix, nullptr));
            } else {
                plan.verdict = hooks::Verdict::deny_disconnect();
                plan.verdict.close_silently = true;
            }
            break;
        }
        case ChainResult::Kind::Failure:
            plan.verdict = refusal(true, false, failure_reply(r.by, r.failure));
            keep_state(s, plan.verdict);
            break;
    }
    return plan;
}

std::optional<hooks::Verdict> deferred_verdict(Section s, const SppState& state) {
    Deferred d;
    switch (s) {
        case Section::Mail: d = Deferred::Mail; break;
        case Section::Rcpt: d = Deferred::Rcpt; break;
        case Section::Data: d = Deferred::Data; break;
        default: return std::nullopt;
    }
    const auto& q = state.queue(d);
    if (q.empty()) return std::nullopt;
    std::vector<ReplyLine> lines;
    for (const auto& l : q)
        if (auto rl = parse_reply_line(l)) lines.push_back(std::move(*rl));
    if (lines.empty()) return std::nullopt;   // cannot happen: defer() checks every line
    int code = lines.back().code;
    hooks::Verdict v = refusal(code < 500, false, verbatim_reply(code, lines, nullptr));
    keep_state(s, v);
    return v;
}

}  // namespace asmtpd::plugins::spp
