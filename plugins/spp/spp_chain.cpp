// spp_chain.cpp - one section's programs, one at a time, off the loop thread's back: spawn,
// wait for the runner's callback, apply the output, spawn the next. See spp_chain.hpp.
#include "plugins/spp/spp_chain.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace asmtpd::plugins::spp {

namespace {

using Clock = std::chrono::steady_clock;

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    return out;
}

RunFacts facts_of(const io::ChildResult& r) {
    RunFacts f;
    f.spawned = r.spawned;
    if (!r.spawned && !r.timed_out) {
        bool resources = r.error.rfind("EAGAIN", 0) == 0 || r.error.rfind("ENOMEM", 0) == 0 ||
                         r.error.rfind("EMFILE", 0) == 0 || r.error.rfind("ENFILE", 0) == 0;
        f.spawn_error = resources ? RunFacts::SpawnError::Resources : RunFacts::SpawnError::NotExecutable;
    }
    f.timed_out = r.timed_out;
    f.truncated = r.truncated;
    f.term_signal = r.term_signal;
    f.exit_status = r.exit_status;
    return f;
}

}  // namespace

io::ChildSpec program_spec(const ProgramLine& p, const ChainOptions& o) {
    io::ChildSpec spec;
    if (p.shell) {
        spec.program = "/bin/sh";
        spec.args = {"-c", p.command};
    } else {
        // qmail-spp execv()s the line: no PATH search, relative to qmail's home.
        spec.program = !p.command.empty() && p.command.front() == '/' ? p.command : o.home + "/" + p.command;
    }
    spec.cwd = o.home;
    spec.run_as = o.run_as;
    spec.limits = o.child_limits;
    spec.stdout_limit = 65536;
    spec.stderr_line_limit = 1024;
    return spec;
}

std::shared_ptr<ChainRun> ChainRun::start(io::ChildRunner& runner, std::shared_ptr<const ChainOptions> opts, Section section,
                                          std::shared_ptr<const SppConfig> config, EnvMap& env, SppState& state,
                                          std::weak_ptr<const void> alive, io::Log log, ChainInput input, Done done) {
    const std::uint64_t budget_ms = opts->budget_ms;
    std::shared_ptr<ChainRun> run(new ChainRun(runner, std::move(opts)));
    run->section_ = section;
    run->config_ = std::move(config);
    run->env_ = &env;
    run->state_ = &state;
    run->alive_ = std::move(alive);
    run->log_ = std::move(log);
    run->input_ = std::move(input);
    run->done_ = std::move(done);
    run->started_ = Clock::now();
    run->deadline_ = run->started_ + std::chrono::milliseconds(budget_ms);
    run->step();
    return run;
}

ChainRun::~ChainRun() { child_.cancel(); }

void ChainRun::cancel() {
    finished_ = true;
    done_ = nullptr;
    child_.cancel();   // kills the group; the runner reaps it
}

void ChainRun::step() {
    const auto& progs = config_->programs(section_);
    if (next_ >= progs.size()) return finish();
    current_ = &progs[next_++];
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    if (left <= 0) {
        fail_chain(*current_, Failure::Timeout, result_);
        return finish();
    }
    io::ChildSpec spec = program_spec(*current_, opts_);
    spec.env = child_environment(opts_.server_env, *env_);
    std::uint64_t own = opts_.timeout_ms;
    policy_ = nullptr;
    if (auto it = opts_.policies.find(current_->line); it != opts_.policies.end()) {
        policy_ = &it->second;
        if (policy_->timeout) own = static_cast<std::uint64_t>(policy_->timeout->count());
    }
    // When the command's budget is what cuts the run short, that is never failed open.
    budget_bound_ = static_cast<std::uint64_t>(left) < own;
    spec.timeout_ms = budget_bound_ ? static_cast<std::uint64_t>(left) : own;
    if (section_ == Section::DataPost) {
        spec.stdin_data = input_.head;
        spec.stdin_spool = input_.body;
        spec.stdin_spool_offset = input_.body_offset;
    }
    stderr_bytes_ = 0;
    std::weak_ptr<ChainRun> weak = weak_from_this();
    spec.on_stderr = [weak](std::string_view line) {
        if (auto self = weak.lock()) self->on_stderr(line);
    };
    // The runner never calls back from inside run(), so this cannot recurse.
    child_ = runner_.run(std::move(spec), [weak](io::ChildResult res) {
        if (auto self = weak.lock()) self->on_child(std::move(res));
    });
}

void ChainRun::on_stderr(std::string_view line) {
    if (finished_ || alive_.expired()) return;
    if (stderr_bytes_ >= opts_.stderr_run_limit) return;
    stderr_bytes_ += line.size() + 1;
    if (stderr_bytes_ > opts_.stderr_run_limit) {
        log_.warn("spp session={:016x} plugin=\"{}\" pid={}: (stderr past {} bytes not logged)", log_.sid(),
                  escape(current_->line), child_.pid(), opts_.stderr_run_limit);
        return;
    }
    log_.notice("spp session={:016x} plugin=\"{}\" pid={}: {}", log_.sid(), escape(current_->line), child_.pid(),
                escape(line));
}

void ChainRun::on_child(io::ChildResult res) {
    if (finished_ || alive_.expired()) return;
    auto self = shared_from_this();   // done_ may drop the last owner
    if (res.spawned && res.timed_out && !budget_bound_ && policy_ && policy_->continue_on_timeout) {
        // on_timeout: continue (SPP.md 5.2.3): the run counts as a program that printed nothing.
        log_.warn("spp [{}] \"{}\" pid={}: timed out; on_timeout continue: treated as no output",
                  section_name(section_), escape(current_->line), res.pid);
        return step();
    }
    RunFacts facts = facts_of(res);
    ParsedOutput out = parse_output(res.out, res.truncated, opts_.limits);
    log_.debug("spp [{}] \"{}\" pid={} exit={} signal={}{}{}{}: {} line(s)", section_name(section_), escape(current_->line),
               res.pid, res.exit_status, res.term_signal, res.timed_out ? " timed-out" : "",
               res.truncated ? " truncated" : "", res.spawned ? "" : " not-spawned (" + res.error + ")",
               out.lines.size());
    CommandScope scope;
    scope.section = section_;
    scope.env = env_;
    scope.state = state_;
    scope.protected_names = &opts_.protect;
    scope.limits = opts_.limits;
    bool stop = apply_run(*current_, out, facts, scope, result_);
    for (; notes_logged_ < result_.notes.size(); ++notes_logged_) log_.warn("spp: {}", escape(result_.notes[notes_logged_]));
    if (stop) return finish();
    step();
}

void ChainRun::finish() {
    if (finished_) return;
    finished_ = true;
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
    if (result_.kind == ChainResult::Kind::Failure)
        log_.warn("spp [{}] \"{}\": {} after {} ms", section_name(section_), escape(result_.by),
                  failure_reason(result_.failure), elapsed);
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result_));
}

}  // namespace asmtpd::plugins::spp
