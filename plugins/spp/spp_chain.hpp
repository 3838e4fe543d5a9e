// spp_chain.hpp - runs one section's qmail-spp programs for one command, one after another,
// each as its own child (io::ChildRunner: own process group, clean environment, stdout and
// stderr piped), and folds their output into a ChainResult with apply_run().
//
// Rules:
// - Never blocks: each program's end arrives in a ChildRunner callback; the next one is
//   spawned from there. `done` runs exactly once, from a loop callback (or from start()
//   itself when the section has no program), unless cancel(), the end of `alive` or the
//   destruction of the ChainRun came first; then it never runs and the group is killed.
// - Each program gets min(per-program timeout, what is left of the command's budget); time
//   spent waiting for a child slot counts, and a wait that outlasts it is "busy".
// - The environment is rebuilt before every spawn, so S/U/C of one program reach the next.
//   Client-supplied text reaches children only through environment values, never argv.
// - stderr lines are logged as `spp session=<id> plugin="<line>" pid=<pid>: <text>` (control
//   bytes escaped, 1 KiB a line, 16 KiB a run); they never reach the client.
// Owner: plugins/spp. Needs only a loop and a ChildRunner (asmtpd-plugtest can drive it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/child_process.hpp"
#include "core/io/log.hpp"
#include "core/io/spool.hpp"
#include "plugins/spp/spp_program_policy.hpp"
#include "plugins/spp/spp_config.hpp"
#include "plugins/spp/spp_env.hpp"
#include "plugins/spp/spp_output.hpp"

namespace asmtpd::plugins::spp {

struct ChainOptions {
    std::string home;                      // working directory; relative program paths resolve here
    std::uint64_t timeout_ms = 30000;      // one program
    std::uint64_t budget_ms = 240000;      // the whole chain of one command
    OutputLimits limits;
    std::vector<std::string> protect;      // besides PATH and LD_*
    ServerEnv server_env;
    std::size_t stderr_run_limit = 16384;  // bytes of stderr logged per run
    std::optional<io::SpawnCredentials> run_as;   // spp_sandbox.hpp
    // asmtpd.yaml spp_programs, by the exact program line: timeout and fail-open overrides.
    std::map<std::string, ProgramPolicy> policies;
    io::SpawnLimits child_limits;
};

// What a data_post program reads on stdin: `head` (Received + added headers), then the spool.
struct ChainInput {
    std::string head;
    std::shared_ptr<io::Spool> body;
    std::uint64_t body_offset = 0;   // body is read from here (Transaction::body_offset)
};

// The command line for one program: ":cmd" -> /bin/sh -c cmd; else the line as a path
// (relative to home; never looked up in PATH).
io::ChildSpec program_spec(const ProgramLine& p, const ChainOptions& o);

class ChainRun : public std::enable_shared_from_this<ChainRun> {
public:
    using Done = std::function<void(ChainResult)>;

    // env and state belong to the caller and must stay valid while `alive` has not expired and
    // the run was not cancelled. log is copied (it tags lines with the session id).
    static std::shared_ptr<ChainRun> start(io::ChildRunner& runner, std::shared_ptr<const ChainOptions> opts, Section section,
                                           std::shared_ptr<const SppConfig> config, EnvMap& env, SppState& state,
                                           std::weak_ptr<const void> alive, io::Log log, ChainInput input,
                                           Done done);
    ~ChainRun();
    void cancel();
    bool running() const { return !finished_; }

private:
    ChainRun(io::ChildRunner& runner, std::shared_ptr<const ChainOptions> opts)
        : runner_(runner), keep_opts_(std::move(opts)), opts_(*keep_opts_) {}
    void step();
    void on_child(io::ChildResult res);
    void finish();
    void on_stderr(std::string_view line);

    io::ChildRunner& runner_;
    // Shared with the plugin (no copy per command); kept alive past a reload that drops it.
    std::shared_ptr<const ChainOptions> keep_opts_;
    const ChainOptions& opts_;
    Section section_ = Section::Dummy;
    std::shared_ptr<const SppConfig> config_;
    EnvMap* env_ = nullptr;
    SppState* state_ = nullptr;
    std::weak_ptr<const void> alive_;
    io::Log log_;
    ChainInput input_;
    Done done_;

    std::size_t next_ = 0;                 // index of the next program
    const ProgramLine* current_ = nullptr;
    const ProgramPolicy* policy_ = nullptr;   // spp_programs entry of current_, if any
    bool budget_bound_ = false;                      // current_'s timeout is the command budget's
    io::ChildHandle child_;
    std::chrono::steady_clock::time_point deadline_;
    std::chrono::steady_clock::time_point started_;
    std::size_t stderr_bytes_ = 0;
    std::size_t notes_logged_ = 0;
    ChainResult result_;
    bool finished_ = false;
};

}  // namespace asmtpd::plugins::spp
