// main.cpp - command line, configuration check, and the event loop.
//
//   asmtpd [--config DIR] [--user NAME] [--check] [--version] [--help]
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>
#include <uv.h>

#include <fmt/format.h>

#include "core/io/dir_check.hpp"
#include "core/io/log.hpp"
#include "core/io/service_notify.hpp"
#include "core/io/signals.hpp"
#include "core/io/unix_listen.hpp"
#include "core/smtp/connection_table.hpp"
#include "core/smtp/control_server.hpp"
#include "core/smtp/control_supervisor.hpp"
#include "core/smtp/listen_sockets.hpp"
#include "core/smtp/metrics.hpp"
#include "core/smtp/metrics_server.hpp"
#include "core/smtp/privileges.hpp"
#include "core/smtp/runtime.hpp"
#include "core/smtp/server.hpp"
#include "core/smtp/workers.hpp"
#include "plugins/builtin.hpp"

namespace {

constexpr const char* kUsage =
    "usage: asmtpd [--config DIR] [--user NAME] [--check] [--version] [--help]\n"
    "\n"
    "  --config DIR   configuration directory (default ./config): asmtpd.yaml, plugins,\n"
    "                 and qmail-style flat files (me, rcpthosts, badmailfrom, ...)\n"
    "  --user NAME    run as NAME (and its primary group) once the ports are bound,\n"
    "                 instead of asmtpd.yaml's user: and group:\n"
    "  --check        validate the whole configuration, print file:line: message for\n"
    "                 every problem, exit 0 when it is usable, 1 when not\n"
    "  --version      print the version\n"
    "  --help         this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT drain and exit, SIGHUP reloads configuration and plugins.\n"
    "asmtpd-ctl status|reload|drain|plugins does the same over asmtpd.yaml's control.socket.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace asmtpd;
    std::string config_dir = "./config";
    bool check = false;
    std::optional<std::string> user_override;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" || a == "-c") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "asmtpd: %s needs a directory\n%s", a.c_str(), kUsage);
                return 2;
            }
            config_dir = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_dir = a.substr(9);
        } else if (a == "--user" || a.rfind("--user=", 0) == 0) {
            if (a == "--user" && i + 1 >= argc) {
                std::fprintf(stderr, "asmtpd: --user needs a user name\n%s", kUsage);
                return 2;
            }
            user_override = a == "--user" ? argv[++i] : a.substr(7);
        } else if (a == "--check") {
            check = true;
        } else if (a == "--version" || a == "-V") {
            std::printf("asmtpd %s\n", ASMTPD_VERSION);
            return 0;
        } else if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            std::fprintf(stderr, "asmtpd: unknown argument '%s'\n%s", a.c_str(), kUsage);
            return 2;
        }
    }

    const auto catalog = plugins::builtin_plugins();
    auto report = [&](const std::vector<std::string>& errors) {
        for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
        std::fprintf(stderr, "asmtpd: configuration in %s has %zu problem(s)\n", config_dir.c_str(), errors.size());
        return 1;
    };

    // As the user we were started as (root, for ports below 1024): the settings, who to run
    // as, the TLS key, the spool directory and every listening socket. Nothing here reads from
    // a client or runs plugin code. Settings errors are reported once, by load_runtime below.
    smtp::SettingsResult early = smtp::load_start_settings(config_dir, catalog);
    std::string error;
    std::string run_as_source = config_dir + "/asmtpd.yaml";
    if (user_override) {
        // NAME with its primary group: asmtpd.yaml's user: and group: both give way.
        early.settings.run_as = smtp::RunAsSettings{*user_override, "", 0, 0};
        run_as_source = "--user";   // errors then read "--user:1: user: ..."
    }
    auto run_as = smtp::resolve_run_as(early.settings.run_as, run_as_source, smtp::current_ids(), error);
    if (!run_as) {
        early.errors.push_back(error);
        return report(early.errors);
    }
    std::optional<smtp::PreloadedTls> tls;
    std::optional<smtp::ListenSockets> sockets;
    std::vector<std::string> spool_errors;   // --check: what start-up could not create as root
    int metrics_fd = -1;                     // metrics.listen, bound with the SMTP ports
    io::UnixSocketFile control_file;         // control.socket, made with the SMTP ports
    int control_fd = -1;
    if (early.errors.empty()) {
        tls = smtp::preload_tls(config_dir, early.settings);
        if (check) {   // --check creates nothing; start-up would create the spool as root
            if (auto why = io::creatable_directory(early.settings.spool_dir); !why.empty())
                spool_errors.push_back(fmt::format("{}/asmtpd.yaml: spool_dir: {}", config_dir, why));
        } else {
            if (!smtp::prepare_private_dir(early.settings.spool_dir, *run_as, error))
                return report({fmt::format("{}/asmtpd.yaml: spool_dir: {}", config_dir, error)});
            sockets = smtp::ListenSockets::bind(early.settings.listen, early.settings.workers, error);
            if (!sockets) {
                std::fprintf(stderr, "asmtpd: %s\n", error.c_str());
                return 1;
            }
            if (const auto& m = early.settings.metrics; m.enabled()) {
                metrics_fd = io::bind_listening_socket(m.address, static_cast<std::uint16_t>(m.port), false, error);
                if (metrics_fd < 0) {
                    std::fprintf(stderr, "asmtpd: metrics: %s\n", error.c_str());
                    return 1;
                }
            }
        }
        // The control socket: root's (or ours) and the group's (control.group, else the group the
        // daemon runs as), made now so a socket under /run can be created before the drop.
        if (const auto& ctl = early.settings.control; ctl.enabled()) {
            gid_t gid = run_as->drop ? run_as->gid : ::getegid();
            if (!ctl.group.empty()) {
                const auto g = smtp::lookup_group(ctl.group);
                if (!g) return report({fmt::format("{}/asmtpd.yaml: control.group: no such group '{}'", config_dir, ctl.group)});
                gid = *g;
            }
            if (!check) {
                control_file = io::bind_unix_socket(ctl.socket, ctl.mode, static_cast<uid_t>(-1), gid, error);
                if (control_file.fd < 0) {
                    std::fprintf(stderr, "asmtpd: control: %s\n", error.c_str());
                    return 1;
                }
                control_fd = control_file.fd;
            }
        }
    }
    const std::string control_path = early.settings.control.socket;
    // Only the process that made it removes it, at its exit (never a forked worker).
    struct RemoveControlSocket {
        const std::string& path;
        const io::UnixSocketFile& file;
        ~RemoveControlSocket() { io::remove_unix_socket(path, file); }
    } remove_control_socket{control_path, control_file};
    // From here on never root unless asmtpd.yaml says user: root: the plugins (.so files too)
    // load as the user the daemon serves as, so --check sees what the daemon will see.
    if (!smtp::drop_privileges(*run_as, error)) {
        std::fprintf(stderr, "asmtpd: %s\n", error.c_str());
        return 1;
    }

    std::vector<std::string> errors = spool_errors;
    auto runtime = smtp::load_runtime(config_dir, catalog, errors, check, tls ? &*tls : nullptr, tls.has_value());
    if (!runtime || !spool_errors.empty()) return report(errors);
    for (const auto& n : runtime->notices) std::fprintf(stderr, "%s\n", n.c_str());
    for (const auto& w : runtime->warnings) std::fprintf(stderr, "asmtpd: warning: %s\n", w.c_str());
    if (check) {
        std::printf("%s: configuration OK (%zu plugins)\n", config_dir.c_str(), runtime->registry->plugin_count());
        return 0;
    }
    if (!sockets) return report({"asmtpd.yaml changed during start-up; start again"});
    const std::string run_as_text =
        run_as->drop ? fmt::format("user {} (uid {}, gid {})", run_as->name, run_as->uid, run_as->gid)
                     : fmt::format("uid {}", static_cast<long>(::geteuid()));

    io::ignore_sigpipe();
    std::signal(SIGXFSZ, SIG_IGN);
    const unsigned workers = runtime->settings.workers;
    // With one worker this process is the loop and tells systemd itself; with several the
    // supervisor (run_workers) does, as only the main pid may (NotifyAccess=main).
    const bool loop_notifies = workers <= 1;
    // Made before the workers fork, so the connection limits count the whole instance.
    std::string table_error;
    auto connections = smtp::ConnectionTable::create(workers, table_error);
    if (!connections) return report({"asmtpd: " + table_error});
    // The metrics registry too: every worker counts into its own block of it.
    // (The control socket reads it too: sessions, reloads, per-plugin counts.)
    std::shared_ptr<smtp::MetricsRegistry> metrics;
    if (metrics_fd >= 0 || control_fd >= 0) {
        metrics = smtp::MetricsRegistry::create(workers, table_error);
        if (!metrics) return report({"asmtpd: " + table_error});
    }
    // With several workers the supervisor runs a loop of its own for the metrics endpoint (made
    // here so a worker can drop its inherited copies of that loop's descriptors).
    uv_loop_t supervisor_loop;
    if (workers > 1) uv_loop_init(&supervisor_loop);
    auto serve = [&](unsigned worker, bool reloaded) {
        // A forked worker: the metrics socket and any scrape the supervisor had open are not its.
        if (workers > 1) {
            uv_walk(&supervisor_loop, [](uv_handle_t* h, void*) {
                uv_os_fd_t fd;
                if (uv_fileno(h, &fd) == 0) ::close(fd);
            }, nullptr);
            ::close(uv_backend_fd(&supervisor_loop));
        }
        // Workers number their lines (json "worker", journal ASMTPD_WORKER); a single process does not.
        io::Logger logger(runtime->settings.log_config(), workers > 1 ? static_cast<int>(worker) : -1);
        uv_loop_t loop;
        uv_loop_init(&loop);
        int rc = 0;
        {
            smtp::Server server(&loop, logger, config_dir, runtime, catalog, sockets->take(worker), worker);
            server.notify_service(loop_notifies);
            server.share_connections(connections);
            server.count_into(metrics);
            // workers: 1 serves /metrics itself; a worker of a supervisor leaves it to the parent.
            if (workers <= 1 && metrics_fd >= 0) server.serve_metrics(std::exchange(metrics_fd, -1));
            if (workers <= 1 && control_fd >= 0) server.serve_control(std::exchange(control_fd, -1));
            std::optional<io::service::Heartbeat> heartbeat;
            std::string error;
            if (!server.start(error)) {
                logger.write(io::Level::Error, 0, "", error);
                rc = 1;
            } else {
                logger.write(io::Level::Notice, 0, "", "running as " + run_as_text);
                logger.write(io::Level::Notice, 0, "",
                             fmt::format("asmtpd {} started as {} (worker {}, pid {})", ASMTPD_VERSION,
                                         runtime->facts.hostname, worker, static_cast<long>(getpid())));
                // Restarted after a SIGHUP: run what the siblings reloaded, not the start-up copy.
                if (reloaded) server.reload();
                if (loop_notifies) {
                    io::service::ready(server.service_status());
                    heartbeat.emplace(&loop);
                }
                uv_run(&loop, UV_RUN_DEFAULT);
            }
        }
        // The plugins (owned by the runtime) may hold libuv handles and log as they go: destroy
        // them while the loop and the logger still exist, then let every close callback run.
        runtime.reset();
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return rc;
    };
    if (workers <= 1) return serve(0, false);
    // Plugins are loaded once here and inherited by every worker through fork(); so are the
    // listening sockets, which the supervisor keeps for a worker it restarts.
    // The supervisor logs where the workers do; on SIGHUP it re-reads the log: section too.
    io::Logger supervisor_log(runtime->settings.log_config());
    // With a control socket, what the workers make of each reload is followed from here on.
    smtp::SupervisorState supervisor_state;
    std::unique_ptr<smtp::SupervisorControl> supervisor_control;
    auto reload_log = [&] {
        smtp::SettingsResult now = smtp::load_start_settings(config_dir, catalog);
        if (now.errors.empty()) supervisor_log.configure(now.settings.log_config());
        // else the workers report the errors and keep running; so does the supervisor's log
        if (supervisor_control) supervisor_control->reload_forwarded();
    };
    // With metrics: the supervisor sums the workers' blocks and serves GET /metrics on a loop
    // of its own, which it runs between its polls of the workers.
    std::unique_ptr<smtp::MetricsServer> metrics_server;
    std::unique_ptr<smtp::ControlServer> control_server;
    std::unique_ptr<io::Timer> wake;
    std::function<void(unsigned)> wait;
    if (metrics) {
        std::string err;
        if (metrics_fd >= 0) {
            metrics_server = smtp::MetricsServer::adopt(&supervisor_loop, metrics_fd, [metrics] { return metrics->render(); },
                                                        io::Log(&supervisor_log, 0, "metrics"), err);
            metrics_fd = -1;
            if (!metrics_server) return report({"asmtpd: metrics: " + err});
            supervisor_log.write(io::Level::Notice, 0, "supervisor",
                                 fmt::format("metrics on {}:{}/metrics", runtime->settings.metrics.address, metrics_server->port()));
        }
        if (control_fd >= 0) {
            const io::Log control_log(&supervisor_log, 0, "control");
            supervisor_control = std::make_unique<smtp::SupervisorControl>(&supervisor_loop, metrics, supervisor_state, control_log);
            control_server = smtp::ControlServer::adopt(
                &supervisor_loop, std::exchange(control_fd, -1),
                [&](proto::ControlVerb v, smtp::ControlServer::Answer a) { supervisor_control->handle(v, std::move(a)); },
                control_log, err);
            if (!control_server) return report({"asmtpd: control: " + err});
            supervisor_log.write(io::Level::Notice, 0, "supervisor", "control socket " + control_path);
        }
        wake = std::make_unique<io::Timer>(&supervisor_loop);
        wait = [&](unsigned ms) {
            wake->start(ms, [] {});
            uv_run(&supervisor_loop, UV_RUN_ONCE);
        };
    }
    const int rc = smtp::run_workers(workers, supervisor_log, serve, [&] { sockets->release(); },
                                     [&](unsigned index) {
                                         connections->reset_worker(index);
                                         if (metrics) metrics->worker_gone(index);
                                     },
                                     reload_log, wait, &supervisor_state);
    metrics_server.reset();
    control_server.reset();
    supervisor_control.reset();
    wake.reset();
    uv_run(&supervisor_loop, UV_RUN_DEFAULT);
    uv_loop_close(&supervisor_loop);
    return rc;
}
