// main.cpp - command line, configuration check, and the event loop.
//
//   asmtpd [--config DIR] [--check] [--version] [--help]
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>
#include <uv.h>

#include <fmt/format.h>

#include "core/io/log.hpp"
#include "core/io/signals.hpp"
#include "core/smtp/runtime.hpp"
#include "core/smtp/server.hpp"
#include "core/smtp/workers.hpp"
#include "plugins/builtin.hpp"

namespace {

constexpr const char* kUsage =
    "usage: asmtpd [--config DIR] [--check] [--version] [--help]\n"
    "\n"
    "  --config DIR   configuration directory (default ./config): asmtpd.yaml, plugins,\n"
    "                 and qmail-style flat files (me, rcpthosts, badmailfrom, ...)\n"
    "  --check        validate the whole configuration, print file:line: message for\n"
    "                 every problem, exit 0 when it is usable, 1 when not\n"
    "  --version      print the version\n"
    "  --help         this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT drain and exit, SIGHUP reloads configuration and plugins.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace asmtpd;
    std::string config_dir = "./config";
    bool check = false;
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

    std::vector<std::string> errors;
    auto runtime = smtp::load_runtime(config_dir, plugins::builtin_plugins(), errors, check);
    if (!runtime) {
        for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
        std::fprintf(stderr, "asmtpd: configuration in %s has %zu problem(s)\n", config_dir.c_str(), errors.size());
        return 1;
    }
    for (const auto& n : runtime->notices) std::fprintf(stderr, "%s\n", n.c_str());
    if (check) {
        std::printf("%s: configuration OK (%zu plugins)\n", config_dir.c_str(), runtime->registry->plugin_count());
        return 0;
    }

    io::ignore_sigpipe();
    std::signal(SIGXFSZ, SIG_IGN);
    auto serve = [&](unsigned worker, bool reloaded) {
        io::Logger logger(runtime->settings.log_level);
        uv_loop_t loop;
        uv_loop_init(&loop);
        int rc = 0;
        {
            smtp::Server server(&loop, logger, config_dir, runtime, plugins::builtin_plugins(), worker);
            std::string error;
            if (!server.start(error)) {
                std::fprintf(stderr, "asmtpd: %s\n", error.c_str());
                rc = 1;
            } else {
                logger.write(io::Level::Notice, 0, "",
                             fmt::format("asmtpd {} started as {} (worker {}, pid {})", ASMTPD_VERSION,
                                         runtime->facts.hostname, worker, static_cast<long>(getpid())));
                // Restarted after a SIGHUP: run what the siblings reloaded, not the start-up copy.
                if (reloaded) server.reload();
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
    const unsigned workers = runtime->settings.workers;
    if (workers <= 1) return serve(0, false);
    // Plugins are loaded once here and inherited by every worker through fork().
    return smtp::run_workers(workers, serve);
}
