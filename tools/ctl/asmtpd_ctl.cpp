// asmtpd_ctl.cpp - asmtpd-ctl: talks to a running asmtpd over its control socket
// (asmtpd.yaml `control:`, protocol core/proto/control_protocol.hpp).
//
//   asmtpd-ctl [-s SOCKET] [-c CONFIG] [--json] [--timeout SECONDS] status|reload|drain|plugins
//
// The socket: -s, else control.socket of CONFIG's asmtpd.yaml (CONFIG: the directory asmtpd
// --config takes, or the file), else of /etc/asmtpd/asmtpd.yaml, else /run/asmtpd/control.
// Exit 0: done; 1: the daemon refused or failed (a reload that did not load); 2: usage, no
// daemon to talk to, no answer in time, or an answer that is not one.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <yaml-cpp/yaml.h>

#include "core/proto/control_protocol.hpp"
#include "tools/ctl/ctl_format.hpp"

namespace {

constexpr const char* kUsage =
    "usage: asmtpd-ctl [-s SOCKET] [-c CONFIG] [--json] [--timeout SECONDS] status|reload|drain|plugins\n"
    "\n"
    "  status    sessions, workers and their pids, configuration generation, uptime, draining\n"
    "  reload    load the configuration again (as SIGHUP); says whether it loaded, or why not\n"
    "  drain     stop accepting and exit once the sessions end (as SIGTERM)\n"
    "  plugins   the plugin list in order, with calls and verdicts per plugin\n"
    "\n"
    "  -s SOCKET        the control socket (default: control.socket of the config, else\n"
    "                   /run/asmtpd/control)\n"
    "  -c CONFIG        asmtpd's configuration directory, or its asmtpd.yaml (default /etc/asmtpd)\n"
    "  --json           print the daemon's answer as JSON\n"
    "  --timeout SECS   how long to wait for the answer (default 90; a reload waits for every worker)\n"
    "\n"
    "Exit status: 0 done, 1 the daemon refused or the reload failed, 2 usage or no answer.\n";

constexpr const char* kDefaultSocket = "/run/asmtpd/control";

int usage_error(const std::string& what) {
    std::fprintf(stderr, "asmtpd-ctl: %s\n%s", what.c_str(), kUsage);
    return 2;
}

// control.socket from asmtpd.yaml; "" when the file or the key is not there. error: unreadable YAML.
std::string socket_from_config(std::string config, std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(config, ec)) config += "/asmtpd.yaml";
    if (!fs::exists(config, ec)) return {};
    try {
        const YAML::Node root = YAML::LoadFile(config);
        if (!root.IsMap()) return {};
        const YAML::Node control = root["control"];
        if (!control || !control.IsMap()) return {};
        const YAML::Node socket = control["socket"];
        if (socket && socket.IsScalar()) return socket.Scalar();
    } catch (const std::exception& e) {
        error = config + ": " + e.what();
    }
    return {};
}

// One request, one reply line; "" and error set on failure.
std::string ask(const std::string& path, std::string_view verb, int timeout_s, std::string& error) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        error = "socket path '" + path + "' is too long";
        return {};
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return {};
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        error = path + ": " + std::strerror(e);
        if (e == ENOENT || e == ECONNREFUSED) error += " (is asmtpd running with control.socket set?)";
        if (e == EACCES) error += " (only root and the socket's group may use it)";
        return {};
    }
    std::string request = std::string(verb) + "\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        error = std::string("send: ") + std::strerror(errno);
        return {};
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::string in;
    while (in.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            error = "no answer within " + std::to_string(timeout_s) + " s";
            return {};
        }
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = n == 0 ? "the daemon closed the connection without an answer" : std::string("recv: ") + std::strerror(errno);
            return {};
        }
        in.append(buf, static_cast<std::size_t>(n));
        if (in.size() > (16u << 20)) {
            error = "answer longer than 16 MiB";
            return {};
        }
    }
    return in.substr(0, in.find('\n') + 1);
}

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path, config, verb_word;
    bool json = false;
    int timeout_s = 90;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        if (a == "-s" || a == "--socket") {
            if (!value(socket_path)) return usage_error(a + " needs a path");
        } else if (a == "-c" || a == "--config") {
            if (!value(config)) return usage_error(a + " needs a directory or file");
        } else if (a == "--json" || a == "-j") {
            json = true;
        } else if (a == "--timeout") {
            std::string t;
            if (!value(t) || t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 6 || std::stoi(t) == 0)
                return usage_error("--timeout needs a number of seconds");
            timeout_s = std::stoi(t);
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            return usage_error("unknown option '" + a + "'");
        } else if (verb_word.empty()) {
            verb_word = a;
        } else {
            return usage_error("one command only");
        }
    }
    if (verb_word.empty()) return usage_error("no command");
    const auto verb = asmtpd::proto::control_verb(verb_word);
    if (!verb) return usage_error("unknown command '" + verb_word + "'");
    if (socket_path.empty()) {
        std::string error;
        socket_path = socket_from_config(config.empty() ? "/etc/asmtpd" : config, error);
        if (!error.empty()) {
            std::fprintf(stderr, "asmtpd-ctl: %s\n", error.c_str());
            return 2;
        }
        if (socket_path.empty()) {
            if (!config.empty()) {
                std::fprintf(stderr, "asmtpd-ctl: %s has no control.socket (the daemon serves no control socket)\n",
                             config.c_str());
                return 2;
            }
            socket_path = kDefaultSocket;
        }
    }
    std::string error;
    const std::string line = ask(socket_path, asmtpd::proto::control_verb_name(*verb), timeout_s, error);
    if (line.empty()) {
        std::fprintf(stderr, "asmtpd-ctl: %s\n", error.c_str());
        return 2;
    }
    const auto reply = asmtpd::proto::parse_control_reply(line);
    if (!reply) {
        std::fprintf(stderr, "asmtpd-ctl: not an answer of the control protocol: %.200s\n", line.c_str());
        return 2;
    }
    if (json) {   // the answer as it came, failures too (the exit status tells them apart)
        std::fputs((reply->body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(), stdout);
        return reply->ok ? 0 : 1;
    }
    if (!reply->ok) {
        std::fputs(asmtpd::ctl::format_error(reply->body).c_str(), stderr);
        return 1;
    }
    std::fputs(asmtpd::ctl::format_ok(std::string(asmtpd::proto::control_verb_name(*verb)), reply->body).c_str(), stdout);
    return 0;
}
