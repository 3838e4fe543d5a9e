// plugtest.hpp - asmtpd-plugtest, the plugin author's debugging tool: runs ONE qmail-spp program
// or ONE shared-object plugin offline against one hook, with a given client environment, and
// reports the verdict and the exact reply the client would get (IndiMail's plugtest(1), for
// asmtpd). Shared between the option parser (plugtest_main.cpp), the two runners
// (plugtest_spp.cpp, plugtest_dso.cpp) and the report (plugtest_report.cpp).
//
// Rules: an offline tool on its own private libuv loop; it reuses the daemon's code paths (the
// spp parsers and ChildRunner chain, the dso plugin from the builtin catalog, the defaults
// table) so what it prints is what the daemon would do. Never: touch anything outside its
// temporary directory and the config directory it is given (read only).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/log.hpp"
#include "core/proto/address.hpp"
#include "core/proto/connection_info.hpp"
#include "hooks/context.hpp"
#include "hooks/hook.hpp"
#include "hooks/result.hpp"

namespace asmtpd::plugtest {

enum class Kind { Spp, Dso };

struct Options {
    Kind kind = Kind::Spp;
    std::string config_dir;                 // --config (empty: a fresh empty directory)
    hooks::Hook hook = hooks::Hook::Count_; // --hook
    std::map<std::string, std::string> env; // --env NAME=VALUE (what tcp.env would give)
    proto::Address from;                    // --from (default: the null sender)
    std::vector<proto::Address> rcpts;      // --rcpt, in order
    std::string helo = "client.plugtest";   // --helo
    std::string auth_user = "plugtest";     // --auth-user (auth_post: SMTPAUTHUSER)
    std::string auth_method = "plain";      // --auth-method (auth_post: SMTPAUTHMETHOD)
    std::string ip = "127.0.0.1";           // --ip
    std::string message_file;               // --message (data_post); default: a tiny message
    std::optional<std::uint64_t> timeout_ms;   // --timeout (default asmtpd.yaml timeouts.plugin)
    bool relay = false;                     // --relay: the client may relay (RELAYCLIENT)
    bool verbose = false;                   // --verbose: debug log lines too
    std::string spp_line;                   // PROGRAM (made absolute) or --spp-line, as written
    std::string home;                       // --home: qmail's home, the programs' cwd (default: config dir)
    std::vector<std::string> dso_args;      // --dso FILE [dso args...]
};

// One hook call's outcome (several for --hook rcpt with several --rcpt).
struct Step {
    std::string label;                      // "rcpt <a@example.org>"
    hooks::Verdict verdict;
    std::vector<std::string> prefix;        // lines sent in front of the reply, as given
    std::optional<proto::Address> address;  // the plugin's address change, if kept
    std::vector<std::string> env_changes;   // "+NAME=value" / "-NAME"
};

struct Report {
    std::string plugin;                     // how the plugin is named in the output
    std::vector<Step> steps;
    std::vector<std::string> headers;       // header fields the message would get
    std::vector<std::string> deferred;      // spp L queues: "rcpt 550 5.7.1 listed"
    bool disabled = false;                  // spp A / native DISABLE_PLUGINS
    std::vector<std::string> notes;         // things to know about the run itself
    // The program could not be started (not found, not executable, no resources): the
    // report shows the reply the daemon would give, and the exit status is 1.
    std::optional<std::string> not_run;
};

// What both runners need: the loop, the facts, the log (into a temporary file), the session.
struct Env {
    uv_loop_t* loop = nullptr;
    hooks::ServerFacts facts;
    std::string config_dir;                 // absolute
    std::string tmp_dir;                    // scratch, removed at exit
    io::Log log;
    proto::ConnectionInfo conn;             // filled from the options
    std::vector<std::string> dns_servers;   // asmtpd.yaml dns.servers (empty: /etc/resolv.conf)
};

// Each returns an error message when the plugin could not be run at all (exit 1).
std::optional<std::string> run_spp(const Options& o, Env& env, Report& r);
std::optional<std::string> run_dso(const Options& o, Env& env, Report& r);

// The reply the client would get for `v` at `hook` (wire lines without CRLF), and a note when
// the answer depends on later plugins; mirrors Session::reply and the cmd_*.cpp success texts.
struct ClientView {
    std::vector<std::string> lines;
    std::string note;
    bool closes = false;
};
ClientView client_view(hooks::Hook hook, const hooks::Verdict& v, const std::vector<std::string>& prefix,
                       const Options& o, const std::string& hostname, const proto::Address* subject);

// "+NAME=value" / "-NAME" for every difference between two environments.
std::vector<std::string> env_diff(const std::map<std::string, std::string>& before,
                                  const std::map<std::string, std::string>& after);

// The message for data_post: the file's bytes with bare LF made CRLF, or a small default.
std::string message_text(const Options& o, std::string& error);

// Prints the report to stdout, then the captured log lines.
void print_report(const Options& o, const Report& r, const std::string& hostname, const std::string& log_text);

std::string_view hook_label(hooks::Hook h);

}  // namespace asmtpd::plugtest
