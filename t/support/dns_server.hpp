// dns_server.hpp - t/e2e/dns_server.py (a real authoritative DNS server on 127.0.0.1, UDP and
// TCP) for the C++ tests: zones written per test, stopped by pid. Zone syntax and the
// behaviour lines (!delay NAME SECONDS, !drop, !servfail, !nxdomain) are documented in
// dns_server.py. It runs under Debian's /usr/bin/python3, which sees python3-dnslib.
// Header-only (t/support is not globbed).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "t/support/spawned.hpp"

namespace asmtpd::test {

class DnsTestServer {
public:
    explicit DnsTestServer(const std::string& zones) {
        char tmpl[] = "/tmp/asmtpd-dns-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir_ = tmpl;
        write_zones(zones);
        proc_ = std::make_unique<Spawned>(
            std::vector<std::string>{"/usr/bin/python3", repo_root() + "/t/e2e/dns_server.py", "--dir", dir_},
            dir_ + "/server.log");
        for (int i = 0; i < 500 && !std::filesystem::exists(dir_ + "/port"); ++i) {
            REQUIRE_MESSAGE(proc_->running(), "dns_server.py exited: " << slurp(dir_ + "/server.log"));
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        port_ = static_cast<std::uint16_t>(std::stoi(slurp(dir_ + "/port")));
    }
    ~DnsTestServer() {
        proc_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    DnsTestServer(const DnsTestServer&) = delete;
    DnsTestServer& operator=(const DnsTestServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    void write_zones(const std::string& text) {
        {
            std::ofstream f(dir_ + "/zones.tmp", std::ios::trunc);
            f << text;
        }
        std::filesystem::rename(dir_ + "/zones.tmp", dir_ + "/zones");
    }

    // Queries received so far (all names), from the server's stats.json.
    int queries() const {
        std::string s = slurp(dir_ + "/stats.json");
        auto at = s.find("\"total\": ");
        return at == std::string::npos ? 0 : std::stoi(s.substr(at + 9));
    }
    // Queries received for "NAME. TYPE" (the key dns_server.py counts by).
    int queries(const std::string& name, const std::string& type) const {
        std::string s = slurp(dir_ + "/stats.json");
        auto at = s.find("\"" + name + ". " + type + "\": ");
        return at == std::string::npos ? 0 : std::stoi(s.substr(s.find(": ", at) + 2));
    }

private:
    static std::string slurp(const std::string& path) {
        std::ifstream f(path);
        return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }

    std::string dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Spawned> proc_;
};

}  // namespace asmtpd::test
