// plugtest_main.cpp - asmtpd-plugtest: the command line, the private loop and configuration,
// the capture of everything written to stderr while the plugin runs (server log lines and the
// plugin's own stderr), and the exit code: 0 the plugin ran (whatever it said), 1 it could not
// be loaded or run, 2 usage. Usage is below (kUsage) and in README.
// Never: leave its temporary directory behind, or hang at exit on a plugin call that never
// returns (after a bounded wait it exits without waiting for it).
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/smtp/config_paths.hpp"
#include "core/smtp/settings.hpp"
#include "hooks/flat_config.hpp"
#include "tools/plugtest/plugtest.hpp"

using namespace asmtpd;
using namespace asmtpd::plugtest;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: asmtpd-plugtest [options] --hook HOOK (PROGRAM | --spp-line LINE | --dso FILE.so [ARGS...])\n"
    "Runs one qmail-spp program or one shared-object plugin offline against one hook and prints the\n"
    "verdict, the exact reply the client would get, side effects, and the log and stderr.\n"
    "  --hook HOOK        connect, helo, ehlo, mail, rcpt, data, data_post, auth_post (spp [auth])\n"
    "                     or rcpt_post (spp [pass])\n"
    "  --config DIR       config directory: asmtpd.yaml (hostname, timeouts.plugin), me, rcpthosts;\n"
    "                     spp programs run there (default: an empty directory)\n"
    "  --home DIR         qmail's home: the spp programs' working directory (default: --config)\n"
    "  --env NAME=VALUE   a variable of the client's environment, as tcp.env sets it (repeatable)\n"
    "  --from ADDR        the sender (default: the null sender <>)\n"
    "  --rcpt ADDR        a recipient (repeatable); rcpt runs the hook once for each; data and\n"
    "                     data_post need at least one\n"
    "  --helo HOST        the HELO/EHLO name (default client.plugtest)\n"
    "  --auth-user NAME   auth_post: the user whose credentials were accepted (default plugtest)\n"
    "  --auth-method M    auth_post: plain, login or cram-md5 (default plain)\n"
    "  --ip IP            the client's address (default 127.0.0.1)\n"
    "  --relay            the client may relay (RELAYCLIENT)\n"
    "  --message FILE     data_post: the message (bare LF becomes CRLF); default: a small one\n"
    "  --timeout SECS     the plugin deadline (default: asmtpd.yaml timeouts.plugin, 30)\n"
    "  --verbose          debug log lines too\n"
    "  PROGRAM            an spp program path (made absolute); with arguments, use --spp-line\n"
    "  --spp-line LINE    a line exactly as in smtpplugins (\":cmd args\" runs /bin/sh -c)\n"
    "  --dso FILE [ARGS]  a shared object (native or IndiMail) and what a `dso` line takes after\n"
    "                     FILE (symbol NAME, timeout SECS, -- ARGS...); must come last\n"
    "exit status: 0 the plugin ran (whatever its verdict), 1 it could not be loaded or run (the\n"
    "             program missing or not executable: the report still shows the daemon's reply), 2 usage\n";

int usage(const std::string& why) {
    std::fprintf(stderr, "asmtpd-plugtest: %s\n%s", why.c_str(), kUsage);
    return 2;
}

std::optional<proto::Address> parse_address(std::string_view a, bool sender) {
    std::string path = !a.empty() && a.front() == '<' ? std::string(a) : "<" + std::string(a) + ">";
    auto p = proto::parse_path(path, sender ? proto::sender_rules(true) : proto::recipient_rules(true));
    if (!p) return std::nullopt;
    return *p;
}

std::optional<hooks::Hook> parse_hook(std::string_view h) {
    if (h == "connect") return hooks::Hook::Connect;
    if (h == "helo") return hooks::Hook::Helo;
    if (h == "ehlo") return hooks::Hook::Ehlo;
    if (h == "mail") return hooks::Hook::Mail;
    if (h == "rcpt") return hooks::Hook::Rcpt;
    if (h == "data") return hooks::Hook::Data;
    if (h == "data_post" || h == "data-post") return hooks::Hook::DataPost;
    if (h == "auth_post" || h == "auth") return hooks::Hook::AuthPost;
    if (h == "rcpt_post" || h == "pass") return hooks::Hook::RcptPost;
    return std::nullopt;
}

// Parses argv into o; returns an error message for usage().
std::optional<std::string> parse_args(int argc, char** argv, Options& o, bool& help) {
    bool have_program = false, have_hook = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* opt) -> std::optional<std::string> {
            if (i + 1 >= argc) return std::nullopt;
            (void)opt;
            return std::string(argv[++i]);
        };
        auto need = [&](const char* opt) { return std::string(opt) + " needs a value"; };
        if (a == "-h" || a == "--help") {
            help = true;
            return std::nullopt;
        }
        if (a == "--hook") {
            auto v = value("--hook");
            if (!v) return need("--hook");
            auto h = parse_hook(*v);
            if (!h) return "unknown hook '" + *v + "'";
            o.hook = *h;
            have_hook = true;
        } else if (a == "--config") {
            auto v = value("--config");
            if (!v) return need("--config");
            o.config_dir = *v;
        } else if (a == "--home") {
            auto v = value("--home");
            if (!v || v->empty()) return need("--home");
            std::error_code ec;
            if (!fs::is_directory(*v, ec)) return "--home: '" + *v + "' is not a directory";
            o.home = fs::absolute(*v).lexically_normal().string();
        } else if (a == "--env") {
            auto v = value("--env");
            if (!v) return need("--env");
            auto eq = v->find('=');
            if (eq == 0 || eq == std::string::npos) return "--env needs NAME=VALUE, got '" + *v + "'";
            o.env[v->substr(0, eq)] = v->substr(eq + 1);
        } else if (a == "--from") {
            auto v = value("--from");
            if (!v) return need("--from");
            auto addr = parse_address(*v, true);
            if (!addr) return "--from: '" + *v + "' is not an address";
            o.from = *addr;
        } else if (a == "--rcpt") {
            auto v = value("--rcpt");
            if (!v) return need("--rcpt");
            auto addr = parse_address(*v, false);
            if (!addr) return "--rcpt: '" + *v + "' is not an address";
            o.rcpts.push_back(*addr);
        } else if (a == "--helo") {
            auto v = value("--helo");
            if (!v || v->empty()) return need("--helo");
            o.helo = *v;
        } else if (a == "--auth-user" || a == "--auth-method") {
            auto v = value(a.c_str());
            if (!v || v->empty()) return need(a.c_str());
            (a == "--auth-user" ? o.auth_user : o.auth_method) = *v;
        } else if (a == "--ip") {
            auto v = value("--ip");
            if (!v || v->empty()) return need("--ip");
            o.ip = *v;
        } else if (a == "--message") {
            auto v = value("--message");
            if (!v) return need("--message");
            o.message_file = *v;
        } else if (a == "--timeout") {
            auto v = value("--timeout");
            if (!v) return need("--timeout");
            char* end = nullptr;
            double s = std::strtod(v->c_str(), &end);
            if (end == v->c_str() || *end || !(s > 0) || s > 86400) return "--timeout: expected seconds > 0";
            o.timeout_ms = static_cast<std::uint64_t>(s * 1000);
            if (*o.timeout_ms == 0) o.timeout_ms = 1;
        } else if (a == "--relay") {
            o.relay = true;
        } else if (a == "--verbose" || a == "-v") {
            o.verbose = true;
        } else if (a == "--spp-line") {
            auto v = value("--spp-line");
            if (!v) return need("--spp-line");
            if (have_program) return "give one plugin only";
            o.kind = Kind::Spp;
            o.spp_line = *v;
            have_program = true;
        } else if (a == "--dso") {
            if (have_program) return "give one plugin only";
            if (i + 1 >= argc) return need("--dso");
            o.kind = Kind::Dso;
            o.dso_args.assign(argv + i + 1, argv + argc);
            have_program = true;
            break;
        } else if (a.size() > 1 && a[0] == '-') {
            return "unknown option '" + a + "'";
        } else {
            if (have_program) return "unexpected argument '" + a + "' (one plugin only; arguments: --spp-line)";
            o.kind = Kind::Spp;
            o.spp_line = fs::absolute(a).lexically_normal().string();
            have_program = true;
        }
    }
    if (!have_hook) return "--hook is required";
    if (!have_program) return "give a PROGRAM, --spp-line LINE or --dso FILE";
    if (o.kind == Kind::Spp && (o.spp_line.empty() || o.spp_line.find_first_of(std::string("\n\0", 2)) != std::string::npos))
        return "the program line must be one non-empty line";
    const bool needs_rcpt = o.hook == hooks::Hook::Rcpt || o.hook == hooks::Hook::RcptPost ||
                            o.hook == hooks::Hook::Data || o.hook == hooks::Hook::DataPost;
    if (needs_rcpt && o.rcpts.empty()) return "--hook " + std::string(hook_label(o.hook)) + " needs --rcpt";
    return std::nullopt;
}

std::string read_all(std::FILE* f) {
    std::string out;
    std::rewind(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    bool help = false;
    if (auto err = parse_args(argc, argv, o, help)) return usage(*err);
    if (help) {
        std::fputs(kUsage, stdout);
        return 0;
    }

    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/asmtpd-plugtest-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
        std::fprintf(stderr, "asmtpd-plugtest: cannot create a temporary directory: %s\n", std::strerror(errno));
        return 1;
    }
    const std::string tmp = buf.data();
    struct Cleanup {
        std::string dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{tmp};

    Env env;
    std::error_code ec;
    if (o.config_dir.empty()) {
        env.config_dir = tmp + "/config";
        fs::create_directories(env.config_dir, ec);
    } else {
        if (!fs::is_directory(o.config_dir, ec)) return usage("--config: " + o.config_dir + " is not a directory");
        env.config_dir = smtp::config_base(o.config_dir);   // as the daemon takes it (README "Paths")
    }
    env.tmp_dir = tmp;
    smtp::SettingsResult sr = smtp::load_settings(env.config_dir);
    if (!sr.errors.empty()) {
        for (const auto& e : sr.errors) std::fprintf(stderr, "%s\n", e.c_str());
        return 1;
    }
    hooks::FlatConfig flat(env.config_dir);
    env.facts.hostname = sr.settings.hostname;
    if (env.facts.hostname.empty())
        if (auto me = flat.first("me"); me && !me->empty()) env.facts.hostname = *me;
    if (env.facts.hostname.empty()) env.facts.hostname = smtp::machine_hostname();
    env.facts.config_dir = env.config_dir;
    env.dns_servers = sr.settings.dns.servers;
    env.facts.spool_dir = tmp;
    env.facts.plugin_timeout = std::chrono::milliseconds(o.timeout_ms.value_or(sr.settings.timeouts.plugin * 1000ull));

    env.conn.id = 1;
    env.conn.remote_ip = o.ip;
    env.conn.remote_port = 50000;
    env.conn.local_ip = "127.0.0.1";
    env.conn.local_port = 25;
    env.conn.env = o.env;
    env.conn.relay_client = o.relay;

    uv_loop_t loop;
    uv_loop_init(&loop);
    env.loop = &loop;

    // Everything written to fd 2 while the plugin runs (our log, the plugin's stderr) is
    // captured and printed as "log:" lines after the report.
    std::FILE* capture = std::tmpfile();
    int saved_stderr = capture ? ::dup(2) : -1;
    std::fflush(stderr);
    if (saved_stderr >= 0) ::dup2(fileno(capture), 2);
    io::Logger logger(o.verbose ? io::Level::Debug : io::Level::Info, stderr);
    env.log = io::Log(&logger, env.conn.id, "plugtest");

    Report report;
    std::optional<std::string> error = o.kind == Kind::Dso ? run_dso(o, env, report) : run_spp(o, env, report);

    std::fflush(stderr);
    std::string log_text;
    if (saved_stderr >= 0) {
        ::dup2(saved_stderr, 2);
        ::close(saved_stderr);
        log_text = read_all(capture);
    }
    if (capture) std::fclose(capture);

    int rc = 0;
    if (error) {
        if (!log_text.empty()) std::fputs(log_text.c_str(), stderr);
        std::fprintf(stderr, "asmtpd-plugtest: %s\n", error->c_str());
        rc = 1;
    } else {
        print_report(o, report, env.facts.hostname, log_text);
        if (report.not_run) {
            std::fprintf(stderr, "asmtpd-plugtest: the program could not be run: %s\n", report.not_run->c_str());
            rc = 1;
        }
    }
    std::fflush(stdout);

    // Let closing handles and returning pool calls finish, but not forever: a plugin call that
    // was abandoned may never return.
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (uv_loop_alive(&loop) && std::chrono::steady_clock::now() < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (uv_loop_alive(&loop)) {
        std::fprintf(stderr, "asmtpd-plugtest: a plugin call is still running; exiting without it\n");
        std::fflush(nullptr);
        std::error_code ignore;
        fs::remove_all(tmp, ignore);
        std::_Exit(rc);
    }
    uv_loop_close(&loop);
    return rc;
}
