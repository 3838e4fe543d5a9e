// tls_context.cpp - TlsContext: one SSL_CTX with its certificate, key, protocol floor,
// ciphers and peer-verification policy, plus the buffer BIO type its connections use.
//
// Must never: prompt for a key passphrase (a blocking read of the terminal: encrypted keys
// fail to load instead), or leave an error without the file or setting it is about.
// Why a custom BIO rather than BIO_s_mem: a memory BIO keeps its high-water allocation for
// the connection's life (64 KiB per read, more after a big write), which tens of thousands
// of idle sessions cannot afford; ours reads the inner stream's chunk in place and moves
// output strings, so an idle connection holds no buffer at all.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "core/io/tls.hpp"
#include "core/io/tls_internal.hpp"

namespace asmtpd::io {

namespace {

std::optional<int> protocol_version(const std::string& name) {
    if (name == "TLSv1") return TLS1_VERSION;
    if (name == "TLSv1.1") return TLS1_1_VERSION;
    if (name == "TLSv1.2") return TLS1_2_VERSION;
    if (name == "TLSv1.3") return TLS1_3_VERSION;
    return std::nullopt;
}

// Encrypted keys fail to load instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

// Server with request_client_cert: never fail the handshake over a client certificate; the
// verification result stays available through SSL_get_verify_result().
int accept_any_client_cert(int, X509_STORE_CTX*) { return 1; }

int bio_read(BIO* b, char* dst, std::size_t len, std::size_t* got) {
    auto* buf = static_cast<TlsBuffers*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (buf->avail.empty()) {
        BIO_set_retry_read(b);   // "would block": OpenSSL reports WANT_READ
        *got = 0;
        return 0;
    }
    std::size_t n = std::min(len, buf->avail.size());
    std::memcpy(dst, buf->avail.data(), n);
    buf->avail.remove_prefix(n);
    *got = n;
    return 1;
}

int bio_write(BIO* b, const char* src, std::size_t len, std::size_t* put) {
    auto* buf = static_cast<TlsBuffers*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    buf->out.append(src, len);
    *put = len;
    return 1;
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
    auto* buf = static_cast<TlsBuffers*>(BIO_get_data(b));
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;   // OpenSSL treats a failed flush as a write error
    case BIO_CTRL_PENDING: return static_cast<long>(buf->avail.size());
    case BIO_CTRL_WPENDING: return static_cast<long>(buf->out.size());
    default: return 0;
    }
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

// A fixed type number: BIO_get_new_index() hands out at most ~128 numbers per process,
// which SIGHUP reloads (one context each) would eventually exhaust.
constexpr int kBioType = 0x7e | BIO_TYPE_SOURCE_SINK;

}  // namespace

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        if (!out.empty()) out += "; ";
        const char* reason = ERR_reason_error_string(e);
        const char* lib = ERR_lib_error_string(e);
        if (reason) {
            out += reason;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            out += buf;
        }
        if (lib) {
            out += " (";
            out += lib;
            out += ")";
        }
    }
    if (out.empty()) out = "unknown error";
    return out;
}

TlsContext::BioMethod::BioMethod() {
    method = BIO_meth_new(kBioType, "asmtpd buffer");
    if (!method) return;
    BIO_meth_set_read_ex(method, bio_read);
    BIO_meth_set_write_ex(method, bio_write);
    BIO_meth_set_ctrl(method, bio_ctrl);
    BIO_meth_set_create(method, bio_create);
}

TlsContext::BioMethod::~BioMethod() {
    if (method) BIO_meth_free(method);
}

TlsContext::TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server), bio_(std::make_unique<BioMethod>()) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<TlsContext> TlsContext::create(bool server, const std::string& min_version, const std::string& ciphers,
                                               std::string& error) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!raw) {
        error = "tls: cannot create context: " + openssl_errors();
        return nullptr;
    }
    std::shared_ptr<TlsContext> ctx(new TlsContext(raw, server));
    if (!ctx->bio_->method) {
        error = "tls: cannot create BIO method: " + openssl_errors();
        return nullptr;
    }
    auto floor = protocol_version(min_version);
    if (!floor) {
        error = "tls min_version \"" + min_version + "\": expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3";
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(raw, *floor);
    // OpenSSL 3 refuses TLS < 1.2 at security level 1 and above; an operator who asks for
    // TLSv1 wants those clients served, so the level drops with the floor.
    if (*floor < TLS1_2_VERSION) SSL_CTX_set_security_level(raw, 0);
    if (!ciphers.empty() && SSL_CTX_set_cipher_list(raw, ciphers.c_str()) != 1) {
        error = "tls ciphers \"" + ciphers + "\": " + openssl_errors();
        return nullptr;
    }
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    // Idle sessions keep no record buffers (about 34 KiB each otherwise).
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(raw, no_passphrase);
    if (server) {
        static const unsigned char kSidContext[] = "asmtpd";
        SSL_CTX_set_session_id_context(raw, kSidContext, sizeof kSidContext - 1);
        SSL_CTX_set_dh_auto(raw, 1);
    } else {
        SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
    }
    return ctx;
}

std::shared_ptr<TlsContext> TlsContext::load_server(const std::string& cert_chain_pem, const std::string& key_pem,
                                                    const std::string& min_version, const std::string& ciphers,
                                                    std::string& error) {
    auto ctx = create(true, min_version, ciphers, error);
    if (!ctx || !ctx->use_certificate(cert_chain_pem, key_pem, error)) return nullptr;
    return ctx;
}

std::shared_ptr<TlsContext> TlsContext::load_client(const std::string& min_version, const std::string& ciphers,
                                                    std::string& error) {
    return create(false, min_version, ciphers, error);
}

namespace {
// What is wrong with a PEM file, in words, when the file itself shows it; empty when it looks
// right (then only OpenSSL's reason is left). OpenSSL's own reasons ("no start line (PEM
// routines)") leave an operator guessing which file and why.
std::string pem_file_problem(const std::string& path, bool key) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::string("the file cannot be read: ") + std::strerror(errno);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty()) return "the file is empty";
    if (!key) {
        if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
            return "the file holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)";
        return "";
    }
    if (text.find("ENCRYPTED") != std::string::npos)
        return "the private key is protected by a passphrase; asmtpd needs it without one "
               "(openssl pkey -in KEY -out NEWKEY)";
    if (text.find("PRIVATE KEY-----") == std::string::npos)
        return "the file holds no PEM private key (no -----BEGIN ... PRIVATE KEY----- line)";
    return "";
}

std::string explained(const std::string& problem) {
    const std::string detail = openssl_errors();
    return problem.empty() ? detail : problem + " (" + detail + ")";
}
}  // namespace

bool TlsContext::use_certificate(const std::string& cert_chain_pem, const std::string& key_pem, std::string& error) {
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_chain_pem.c_str()) != 1) {
        error = "tls cert " + cert_chain_pem + ": " + explained(pem_file_problem(cert_chain_pem, false));
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx_, key_pem.c_str(), SSL_FILETYPE_PEM) != 1) {
        std::string problem = pem_file_problem(key_pem, true);
        // OpenSSL 3 compares the key with the certificate while loading it.
        const bool mismatch = ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH ||
                              ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        if (problem.empty() && mismatch) problem = "this private key does not belong to the certificate in " + cert_chain_pem;
        error = "tls key " + key_pem + ": " + explained(problem);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx_) != 1) {
        error = "tls key " + key_pem + ": this private key does not belong to the certificate in " + cert_chain_pem +
                " (" + openssl_errors() + ")";
        return false;
    }
    return true;
}

bool TlsContext::load_ca_file(const std::string& ca_pem, std::string& error) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx_, ca_pem.c_str(), nullptr) != 1) {
        error = "tls ca " + ca_pem + ": " + openssl_errors();
        return false;
    }
    ca_loaded_ = true;
    if (server_) {
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_pem.c_str());
        if (names) SSL_CTX_set_client_CA_list(ctx_, names);   // takes ownership
        ERR_clear_error();
    }
    return true;
}

void TlsContext::request_client_cert(bool on) {
    if (!server_) return;
    SSL_CTX_set_verify(ctx_, on ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, on ? accept_any_client_cert : nullptr);
}

void TlsContext::verify_peer(bool on) {
    if (server_) return;
    if (on && !ca_loaded_ && !default_paths_) {
        SSL_CTX_set_default_verify_paths(ctx_);   // no CA file given: the system store
        default_paths_ = true;
    }
    SSL_CTX_set_verify(ctx_, on ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
}

}  // namespace asmtpd::io
