// tls_certs.hpp - test certificates for the TLS tests: a self-signed server (CN=localhost,
// RSA 2048), a client (CN=client, EC) and an encrypted key, made once per test binary with
// the openssl command in a temporary directory that is removed at exit.
//
// Must never: let a test run without certificates (certs() fails the test instead).
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/io/tls.hpp"

namespace asmtpd::io::test {

inline bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Self-signed server (CN=localhost) and client (CN=client) certificates in a temporary
// directory, made once per test run and removed at exit.
struct Certs {
    std::string dir, server_cert, server_key, combined, client_cert, client_key, encrypted_key;
    bool ok = false;
    Certs() {
        char tmpl[] = "/tmp/asmtpd-tls-test-XXXXXX";
        if (!mkdtemp(tmpl)) return;
        dir = tmpl;
        server_cert = dir + "/server.crt";
        server_key = dir + "/server.key";
        combined = dir + "/combined.pem";
        client_cert = dir + "/client.crt";
        client_key = dir + "/client.key";
        encrypted_key = dir + "/encrypted.key";
        ok = sh("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 -addext "
                "subjectAltName=DNS:localhost -keyout " + server_key + " -out " + server_cert) &&
             sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=client "
                "-days 2 -keyout " + client_key + " -out " + client_cert) &&
             sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out " +
                encrypted_key);
        std::ofstream(combined) << slurp(server_cert) << slurp(server_key);
    }
    ~Certs() {
        if (!dir.empty()) std::filesystem::remove_all(dir);
    }
};

inline const Certs& certs() {
    static Certs c;
    REQUIRE_MESSAGE(c.ok, "openssl could not make the test certificates");
    return c;
}

inline std::shared_ptr<TlsContext> server_ctx(const std::string& min_version = "TLSv1.2") {
    std::string error;
    auto ctx = TlsContext::load_server(certs().server_cert, certs().server_key, min_version, "", error);
    REQUIRE_MESSAGE(ctx != nullptr, error);
    return ctx;
}

inline std::shared_ptr<TlsContext> client_ctx(const std::string& min_version = "TLSv1.2") {
    std::string error;
    auto ctx = TlsContext::load_client(min_version, "", error);
    REQUIRE_MESSAGE(ctx != nullptr, error);
    return ctx;
}

}  // namespace asmtpd::io::test
