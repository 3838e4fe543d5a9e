// tls.hpp - TLS over any Transport: TlsContext (certificates and policy, an SSL_CTX shared
// by many connections) and TlsTransport (OpenSSL over in-memory buffers on the loop, for
// STARTTLS, implicit TLS on 465, and TLS to a next hop).
//
// Rules: OpenSSL never touches a socket and never blocks. TlsTransport keeps stream.hpp's
// Transport contract; the handshake is reported once through its callback (failures before
// it completes go only there, later ones only to on_eof). The owner holds every deadline,
// the handshake's included. Ownership: TlsTransport owns its inner Transport; a TlsContext
// is shared (shared_ptr) and outlives its connections, so a SIGHUP reload can swap it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <openssl/types.h>
#include <uv.h>

#include "core/io/stream.hpp"

namespace asmtpd::io {

// Certificates, key, protocol floor and cipher policy for many connections (an SSL_CTX).
// Configure it completely before the first TlsTransport uses it: the setters are not meant
// to be called while connections run (workers may share it).
class TlsContext {
public:
    // A server context. cert_chain_pem: PEM chain, leaf first; key_pem: PEM private key (may
    // be the same file). min_version: TLSv1 | TLSv1.1 | TLSv1.2 | TLSv1.3. ciphers: an OpenSSL
    // cipher list for TLS <= 1.2 (TLS 1.3 suites keep the library default); empty = default.
    // Null on failure, with a one-line error naming the file or setting and OpenSSL's reason
    // ("tls cert /x/chain.pem: No such file or directory (system library)").
    static std::shared_ptr<TlsContext> load_server(const std::string& cert_chain_pem, const std::string& key_pem,
                                                   const std::string& min_version, const std::string& ciphers,
                                                   std::string& error);
    // A client context (TLS to a next hop). The server's certificate is not verified unless
    // verify_peer(true) is set (opportunistic TLS, as MTAs do by default).
    static std::shared_ptr<TlsContext> load_client(const std::string& min_version, const std::string& ciphers,
                                                   std::string& error);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // Presents a certificate (a server always has one; a client may, for client-cert auth).
    bool use_certificate(const std::string& cert_chain_pem, const std::string& key_pem, std::string& error);
    // Trusted CAs (PEM file) for verifying the peer: a client's certificate on a server, the
    // server's on a client. On a server the CA names are also sent as acceptable issuers.
    bool load_ca_file(const std::string& ca_pem, std::string& error);
    // Server: ask clients for a certificate. It is requested, never required: a client without
    // one, or with one that does not verify, still completes the handshake; the outcome is in
    // peer_certificate_subject() / peer_certificate_verified().
    void request_client_cert(bool on);
    // Client: fail the handshake unless the server's chain verifies against load_ca_file()
    // (or the system store when none was loaded) and matches the server name given to
    // TlsTransport.
    void verify_peer(bool on);
    bool is_server() const { return server_; }

    // The OpenSSL context, for tests and for settings this class does not cover.
    SSL_CTX* native() const { return ctx_; }

    struct BioMethod;   // the memory BIO type used by TlsTransport (tls.cpp)
    const BioMethod& bio_method() const { return *bio_; }

private:
    TlsContext(SSL_CTX* ctx, bool server);
    static std::shared_ptr<TlsContext> create(bool server, const std::string& min_version,
                                              const std::string& ciphers, std::string& error);
    SSL_CTX* ctx_;
    bool server_;
    bool ca_loaded_ = false;
    bool default_paths_ = false;
    std::unique_ptr<BioMethod> bio_;   // BIO_METHOD table, freed after every BIO that used it
};

enum class TlsRole { Server, Client };

class TlsTransport final : public Transport {
public:
    // ok=false: error is a one-line reason ("TLS handshake: SSL routines: wrong version number").
    using HandshakeCallback = std::function<void(bool ok, std::string error)>;

    // Wraps `inner` (typically a TcpStream) and becomes its listener; reading on the inner
    // starts at once, whatever its pause state was, because the handshake needs input. Only
    // bytes arriving after construction are TLS: plaintext read before the switch is the
    // caller's to discard (STARTTLS injection). A client starts the handshake here (its
    // ClientHello is queued on the inner); a server waits for it. server_name (client only):
    // sent as SNI and, with verify_peer, checked against the certificate. The callback runs
    // from a loop callback, never from inside this constructor or any method call.
    TlsTransport(uv_loop_t* loop, std::unique_ptr<Transport> inner, std::shared_ptr<TlsContext> ctx, TlsRole role,
                 HandshakeCallback on_handshake, std::string server_name = {});
    ~TlsTransport() override;
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    // Transport. Plaintext reaches the listener only after the handshake succeeded (and only
    // after the handshake callback returned); until a listener is set and while paused it stays
    // encrypted in a bounded buffer, the inner stream being paused too. Delivery of what was
    // buffered resumes from a later loop iteration, never inside set_listener()/resume_reading().
    void set_listener(StreamListener* l) override;
    // Plaintext; queued until the handshake completes (a client may write at once).
    void write(std::string bytes) override;
    // Plaintext waiting for the handshake plus ciphertext still queued on the inner.
    std::size_t queued_bytes() const override;
    void pause_reading() override;
    void resume_reading() override;
    // Sends close_notify after the queued output (when the handshake completed; otherwise the
    // unsent plaintext is dropped), then the inner flushes and closes. Idempotent.
    void close_after_flush() override;
    void close_now() override;
    bool closed() const override;

    // Facts, meaningful once the handshake succeeded (empty/false before).
    bool handshake_done() const;
    std::string version() const;                   // "TLSv1.3"
    std::string cipher() const;                    // "TLS_AES_256_GCM_SHA384"
    int cipher_bits() const;                       // 256
    std::string peer_certificate_subject() const;  // RFC 2253 ("CN=client,O=Example"); empty if none
    bool peer_certificate_verified() const;        // presented and its chain verified
    // The peer ended with close_notify (as opposed to a bare TCP close, i.e. truncation).
    bool close_notify_received() const;
    // Ciphertext the owner already read from the inner stream before this transport existed
    // (the bytes after a PROXY header on an smtps listener). Processed as if just received;
    // unlike the rest of this class it may run the handshake callback before returning.
    void receive_ciphertext(std::string_view bytes);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace asmtpd::io
