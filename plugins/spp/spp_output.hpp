// spp_output.hpp - what one qmail-spp program said, and what a chain of them decides
// (SPP.md §2). Three pure steps, callable without a session (asmtpd-plugtest reuses them):
//   parse_output()  stdout bytes -> command lines, up to the first terminator (A N O E R D)
//   apply_run()     one finished run -> side effects on SppState and the environment map, and
//                   the chain's outcome so far (terminator, failure, P lines, C address)
//   plan_verdict()  the chain's outcome -> the hooks::Verdict and the P lines to send ahead
// Side effects (H C S U L, A's switch-off) take effect in output order even when the run then
// fails, as in qmail-spp; P and E/R text of a failed run are dropped (one reply per command).
// Never: throw, log, or do I/O; every limit of SPP.md §5.2.6 is enforced here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/reply.hpp"
#include "hooks/result.hpp"
#include "plugins/spp/spp_config.hpp"

namespace asmtpd::plugins::spp {

using EnvMap = std::map<std::string, std::string>;

struct OutputLimits {
    std::size_t max_line = 4096;             // one stdout line, '\n' excluded
    std::size_t max_lines = 1000;            // stdout lines per run, read up to the terminator
    std::size_t max_header_line = 998;       // one H line (RFC 5322 §2.1.1)
    std::size_t max_header_bytes = 65536;    // H buffer for one message
    std::size_t max_deferred = 4096;         // each L queue
    std::size_t max_var = 4096;              // S: name and value each
    std::size_t max_sets = 256;              // S commands per session
    std::size_t max_address = 900;           // C (qmail's address limit)
};

// ---- parsing -------------------------------------------------------------------------

struct OutputLine {
    char cmd = 0;          // first byte
    std::string arg;       // the rest, verbatim ('\r' kept)
};

struct ParsedOutput {
    std::vector<OutputLine> lines;    // in order; empty lines dropped; ends at the terminator
    bool terminated = false;          // lines.back() is A N O E R or D
    bool too_large = false;           // a limit was passed before any terminator
    bool unterminated_last = false;   // the last line had no '\n' and was used anyway [D]
};

bool is_terminator(char c);

// `truncated`: the runner cut stdout at its byte cap, so a final partial line is not a line.
ParsedOutput parse_output(std::string_view out, bool truncated, const OutputLimits& limits = {});

// One reply line as a plugin writes it: 3-digit code 200..599, then ' ', '-' or the end.
struct ReplyLine {
    int code = 0;
    std::string text;      // after the separator, verbatim
};
std::optional<ReplyLine> parse_reply_line(std::string_view s);

// ---- one run -------------------------------------------------------------------------

enum class Failure { None, CantExecute, ForkFailed, Crashed, Timeout, Busy, TooLarge, Malformed };

// "can't execute", "fork() failed", "child crashed", "timeout", "busy", "output too large",
// "malformed reply".
std::string_view failure_reason(Failure f);
// "451 qmail-spp failure: <line>: <reason> (#4.3.0)" as a Reply with no enhanced code.
proto::Reply failure_reply(std::string_view line, Failure f);

// How the child ended, from the runner's result.
struct RunFacts {
    enum class SpawnError { None, NotExecutable, Resources };
    bool spawned = true;
    SpawnError spawn_error = SpawnError::None;
    bool timed_out = false;       // ours: the plugin timeout or the command budget ran out
    bool truncated = false;       // ours: stdout passed the byte cap and we killed the group
    int term_signal = 0;
    std::int64_t exit_status = 0;
};

enum class Deferred { Mail, Rcpt, Data };

// The spp state of one connection that outlives a command (plain data).
struct SppState {
    std::vector<std::string> headers;      // H buffer; a folded header is one entry with '\n's
    std::size_t header_bytes = 0;
    std::array<std::vector<std::string>, 3> deferred;   // LM / LR / LD reply lines
    std::size_t sets = 0;                  // S commands applied
    bool disabled = false;                 // A seen: no program runs for the rest of the connection

    std::vector<std::string>& queue(Deferred d) { return deferred[static_cast<std::size_t>(d)]; }
    const std::vector<std::string>& queue(Deferred d) const { return deferred[static_cast<std::size_t>(d)]; }
    void clear_buffers();                  // RSET and DATA-after-354: headers and deferred queues
};

// What one command's chain acts on.
struct CommandScope {
    Section section = Section::Dummy;
    EnvMap* env = nullptr;                            // the connection's environment (S, U, C)
    SppState* state = nullptr;
    const std::vector<std::string>* protected_names = nullptr;   // besides PATH and LD_*
    OutputLimits limits;
};

struct ChainResult {
    enum class Kind { Continue, Accept, Override, Disable, Reject, RejectClose, Drop, Failure };
    Kind kind = Kind::Continue;
    std::string by;                           // program line that ended the chain
    std::vector<ReplyLine> prefix;            // P lines of successful runs, in order
    std::optional<ReplyLine> reply;           // E / R text
    Failure failure = Failure::None;
    std::optional<std::string> address;       // last valid C (mail / rcpt / pass only)
    std::vector<std::string> notes;           // warnings for the log, "<line>: what"
};

// Applies one finished run; returns true when the chain stops (terminator or failure).
bool apply_run(const ProgramLine& prog, const ParsedOutput& out, const RunFacts& facts, CommandScope& scope,
               ChainResult& result);

// A chain that ends before a program finished (budget spent before a spawn, busy).
void fail_chain(const ProgramLine& prog, Failure f, ChainResult& result);

// ---- verdicts ------------------------------------------------------------------------

struct VerdictPlan {
    hooks::Verdict verdict;
    // "NNN-text" lines for Context::prefix_reply (only for verdicts without a reply of their own).
    std::vector<std::string> prefix;
};

VerdictPlan plan_verdict(Section s, const ChainResult& r);

// MAIL / RCPT / DATA: a non-empty deferred queue answers the command before any program runs.
std::optional<hooks::Verdict> deferred_verdict(Section s, const SppState& state);

}  // namespace asmtpd::plugins::spp
