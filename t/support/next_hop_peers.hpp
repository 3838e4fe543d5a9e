// next_hop_peers.hpp - real next hops for the SMTP/LMTP queue plugin tests: Postfix's smtp-sink
// and the scripted t/fixtures/lmtp_server.py, each spawned with posix_spawn and killed by its pid;
// plus a loop runner with a deadline and the transaction/spool set-up those tests share.
//
// Must never: leave a process running (the destructor SIGTERMs, then SIGKILLs, and reaps it),
// listen beyond loopback, or wait without a deadline. Header-only (t/support is not globbed).
// smtp-sink refuses to run as root without -u; then its dump directory is made world-writable
// (it is a private temporary directory).
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <uv.h>

#include "core/io/spool.hpp"
#include "t/support/fake_context.hpp"
#include "t/support/spawned.hpp"

namespace asmtpd::test {

// Postfix's smtp-sink and the environment entries it needs: the installed one, else the tree
// scripts/bootstrap --test unpacks into $ASMTPD_POSTFIX_DIR (default /var/tmp/asmtpd-postfix; the
// postfix package cannot be installed beside another MTA), whose libraries are found through
// LD_LIBRARY_PATH (the binaries' RUNPATH names /usr/lib/postfix).
inline std::pair<std::string, std::vector<std::string>> smtp_sink_program() {
    const char* dir = std::getenv("ASMTPD_POSTFIX_DIR");
    if (!dir && ::access("/usr/sbin/smtp-sink", X_OK) == 0) return {"/usr/sbin/smtp-sink", {}};
    const std::string tree = std::string(dir ? dir : "/var/tmp/asmtpd-postfix") + "/root";
    std::string libs = "LD_LIBRARY_PATH=" + tree + "/usr/lib/postfix";
    if (const char* old = std::getenv("LD_LIBRARY_PATH"); old && *old) libs += std::string(":") + old;
    return {tree + "/usr/sbin/smtp-sink", {libs}};
}

// Postfix's smtp-sink on 127.0.0.1, dumping each transaction into dir()/dump.*.
class SmtpSink {
public:
    // unix_socket: listen on a Unix-domain socket (hop() is then its path), e.g. with -L (LMTP).
    explicit SmtpSink(std::vector<std::string> extra = {}, bool unix_socket = false) : unix_(unix_socket) {
        ::chmod(dir_.path().c_str(), 0777);
        auto [program, env] = smtp_sink_program();
        std::vector<std::string> argv = {program};
        if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
        argv.insert(argv.end(), {"-d", dir_.path() + "/dump."});
        for (auto& e : extra) argv.push_back(e);
        if (unix_) {
            argv.push_back("unix:" + socket_path());
        } else {
            port_ = free_port();
            argv.push_back("127.0.0.1:" + std::to_string(port_));
        }
        argv.push_back("64");
        proc_ = std::make_unique<Spawned>(argv, err_dir_ / "smtp-sink.err", env);
        for (int i = 0; i < 500 && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        REQUIRE_MESSAGE(ready(), "smtp-sink did not start: " << read_file(err_dir_ / "smtp-sink.err"));
    }
    std::uint16_t port() const { return port_; }
    std::string socket_path() const { return err_dir_ / "sink.sock"; }
    std::string hop() const { return unix_ ? socket_path() : "127.0.0.1:" + std::to_string(port_); }
    void kill() { proc_->stop(); }

    struct Dump {
        std::string mail_args;
        std::vector<std::string> rcpt_args;
        std::string proto;
        std::string content;   // after smtp-sink's Received header: lines end in LF, plus one LF
    };
    // Dump files that hold a whole transaction (smtp-sink writes the Received header at DATA).
    std::vector<Dump> dumps() const {
        std::vector<Dump> out;
        for (const auto& name : list_dir(dir_.path())) {
            std::string raw = read_file(dir_.path() + "/" + name);
            auto rec = raw.find("\nReceived: ");
            if (rec == std::string::npos) continue;
            Dump d;
            std::size_t pos = 0;
            while (pos < rec + 1) {
                auto nl = raw.find('\n', pos);
                std::string line = raw.substr(pos, nl - pos);
                if (line.rfind("X-Mail-Args: ", 0) == 0) d.mail_args = line.substr(13);
                if (line.rfind("X-Rcpt-Args: ", 0) == 0) d.rcpt_args.push_back(line.substr(13));
                if (line.rfind("X-Client-Proto: ", 0) == 0) d.proto = line.substr(16);
                pos = nl + 1;
            }
            // "Received: from ...\n\tby ...\n\t<date>\n": three lines.
            std::size_t p = rec + 1;
            for (int i = 0; i < 3 && p != std::string::npos; ++i) {
                p = raw.find('\n', p);
                if (p != std::string::npos) ++p;
            }
            if (p == std::string::npos) continue;
            d.content = raw.substr(p);
            out.push_back(std::move(d));
        }
        return out;
    }
    // What a dump of `message` (CRLF lines) looks like.
    static std::string dumped(std::string message) {
        std::string out;
        for (std::size_t i = 0; i < message.size(); ++i) {
            if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
            out += message[i];
        }
        if (!out.empty() && out.back() != '\n') out += '\n';
        return out + "\n";
    }

private:
    bool ready() const {
        if (!unix_) return can_connect(port_);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        std::snprintf(un.sun_path, sizeof un.sun_path, "%s", socket_path().c_str());
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0;
        ::close(fd);
        return ok;
    }

    TempDir dir_;
    TempDir err_dir_;
    bool unix_ = false;
    std::uint16_t port_ = 0;
    std::unique_ptr<Spawned> proc_;
};

// t/fixtures/lmtp_server.py on a loopback port or a Unix socket.
class FixtureServer {
public:
    explicit FixtureServer(std::vector<std::string> extra = {}, bool unix_socket = false) {
        std::vector<std::string> argv = {"python3", repo_root() + "/t/fixtures/lmtp_server.py", "--ready-file",
                                         dir_ / "ready", "--out", dir_ / "out"};
        if (unix_socket) argv.insert(argv.end(), {"--unix", socket_path()});
        else argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
        for (auto& e : extra) argv.push_back(e);
        proc_ = std::make_unique<Spawned>(argv, dir_ / "stderr.log");
        for (int i = 0; i < 1000 && !std::filesystem::exists(dir_ / "ready"); ++i) {
            REQUIRE_MESSAGE(proc_->running(), "lmtp_server.py exited during start-up");
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        std::string ready = read_file(dir_ / "ready");
        REQUIRE_MESSAGE(!ready.empty(), "lmtp_server.py did not start");
        if (!unix_socket) port_ = static_cast<std::uint16_t>(std::stoi(ready));
    }
    std::string socket_path() const { return dir_ / "lmtp.sock"; }
    std::string hop() const { return port_ ? "127.0.0.1:" + std::to_string(port_) : socket_path(); }
    std::string out() const { return dir_ / "out"; }
    void kill() { proc_->stop(); }

    std::vector<std::string> messages() const {   // .eml contents, in order
        std::vector<std::string> out_;
        for (const auto& n : list_dir(out()))
            if (n.size() > 4 && n.substr(n.size() - 4) == ".eml") out_.push_back(read_file(out() + "/" + n));
        return out_;
    }
    std::string envelope(int n) const {   // NNNN.json
        char name[16];
        std::snprintf(name, sizeof name, "%04d.json", n);
        return read_file(out() + "/" + name);
    }
    std::string commands() const { return read_file(out() + "/commands.log"); }

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Spawned> proc_;
};

// Runs ctx's loop until pred() holds or ms pass (a 5 ms tick keeps UV_RUN_ONCE from blocking).
inline bool run_until(FakeContext& ctx, const std::function<bool()>& pred, std::uint64_t ms = 10000) {
    auto* tick = new uv_timer_t;
    uv_timer_init(ctx.loop(), tick);
    uv_timer_start(tick, [](uv_timer_t*) {}, 5, 5);
    uv_update_time(ctx.loop());
    const std::uint64_t deadline = uv_now(ctx.loop()) + ms;
    while (!pred() && uv_now(ctx.loop()) < deadline) uv_run(ctx.loop(), UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(tick), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    uv_run(ctx.loop(), UV_RUN_NOWAIT);
    return pred();
}

inline void run_for(FakeContext& ctx, std::uint64_t ms) { run_until(ctx, [] { return false; }, ms); }

// A finished spool with `body` (a file once over `threshold`), as a transaction's body.
inline void make_transaction(FakeContext& ctx, const std::string& body, std::vector<proto::Address> rcpts,
                             std::size_t threshold = 1 << 20, std::string id = "0000000000001234.1") {
    std::string spool_dir = ctx.dir() / "spool";
    std::filesystem::create_directories(spool_dir);
    auto spool = io::Spool::create(ctx.loop(), spool_dir, threshold);
    for (std::size_t off = 0; off < body.size(); off += 7919) spool->append(std::string_view(body).substr(off, 7919));
    bool finished = false, ok = false;
    spool->finish([&](bool good) {
        finished = true;
        ok = good;
    });
    REQUIRE(run_until(ctx, [&] { return finished; }));
    REQUIRE(ok);
    ctx.txn.emplace();
    ctx.txn->number = 1;
    ctx.txn->id = std::move(id);
    ctx.txn->sender = proto::Address{"from", "example.net"};
    ctx.txn->recipients = std::move(rcpts);
    ctx.txn->received = "Received: from client.example.net (HELO c) ([192.0.2.10])\r\n"
                        " by mx.example.org (asmtpd) with ESMTP; Sun, 22 Nov 2026 00:00:00 +0000\r\n";
    ctx.txn->body = spool;
}

// A message with dot lines, 8-bit octets and long lines (no NUL, CR or LF out of CRLF), of
// about n octets.
inline std::string tricky_body(std::size_t n) {
    std::string s = "Subject: forwarding test\r\nX-Eight: caf\xc3\xa9\r\n\r\n.\r\n..\r\n.leading\r\n";
    std::uint32_t x = 12345;
    while (s.size() < n) {
        x = x * 1103515245u + 12345u;
        std::size_t len = (x >> 8) % 300;
        if ((x & 0xff) == 7) len = 1200 + (x >> 20) % 500;   // some lines over 1000 octets
        std::string line;
        if ((x & 3) == 0) line += '.';
        for (std::size_t i = 0; i < len; ++i) {
            x = x * 1103515245u + 12345u;
            char c = static_cast<char>(32 + (x >> 16) % 224);   // printable and 8-bit
            line += c == '\x7f' ? 'x' : c;
        }
        s += line + "\r\n";
    }
    return s;
}

}  // namespace asmtpd::test
