// tls.cpp - TlsTransport: OpenSSL driven over in-memory buffers on top of an inner Transport.
//
// Must never: let OpenSSL do I/O itself (its BIOs read and write the TlsBuffers below), call
// the listener from inside one of the Transport methods, or touch the Impl after a callback
// that may have destroyed it (the `alive` token is checked after each). OpenSSL's error
// queue is per thread and shared by every connection of the loop, so it is cleared before
// each call whose errors we read. Ownership: Impl owns the SSL (which owns both BIOs), the
// inner Transport and a timer for deferred deliveries.
#include "core/io/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "core/io/timer.hpp"
#include "core/io/tls_internal.hpp"

namespace asmtpd::io {

namespace {

bool is_ip_literal(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Per-call chunk for SSL_write, so one big write() never builds one equally big ciphertext
// string before any of it reaches the socket.
constexpr std::size_t kWriteChunk = 128 * 1024;

}  // namespace

struct TlsTransport::Impl final : StreamListener {
    enum class State { Handshaking, Open, Failed };

    Impl(uv_loop_t* loop, std::unique_ptr<Transport> in, std::shared_ptr<TlsContext> c, HandshakeCallback cb)
        : inner(std::move(in)), ctx(std::move(c)), deferred(loop), on_handshake(std::move(cb)) {}

    ~Impl() override {
        if (ssl) SSL_free(ssl);   // frees both BIOs, which point at `bufs` (still alive here)
        if (inner) inner->set_listener(nullptr);
    }

    std::unique_ptr<Transport> inner;
    std::shared_ptr<TlsContext> ctx;   // keeps the SSL_CTX and the BIO method alive
    TlsBuffers bufs;
    SSL* ssl = nullptr;
    Timer deferred;                    // delivery after resume/set_listener, write-error reports
    HandshakeCallback on_handshake;
    StreamListener* listener = nullptr;
    std::string pending_plain;         // written before the handshake completed
    std::string error;                 // why the connection failed after the handshake
    State state = State::Handshaking;
    bool done = false;                 // the handshake succeeded (facts are valid)
    bool paused = false;
    bool closing = false;              // close_*() called: no callback of any kind any more
    bool peer_closed = false;          // close_notify received
    bool inner_eof = false;            // the inner stream ended; reported once input is drained
    bool broken = false;               // a fatal TLS error after the handshake
    bool eof_sent = false;
    std::shared_ptr<int> alive = std::make_shared<int>(0);

    // OpenSSL produced ciphertext (records, alerts): hand it to the socket, in order.
    void flush_out() {
        if (bufs.out.empty() || !inner) return;
        std::string s;
        s.swap(bufs.out);   // moved, and `out` starts again without capacity
        inner->write(std::move(s));
    }

    bool has_buffered_input() const { return !bufs.avail.empty() || (ssl && SSL_pending(ssl) > 0); }

    // The inner reads during the handshake regardless of our pause state; afterwards only when
    // plaintext can go somewhere, so undelivered input stays bounded.
    void update_inner_reading() {
        if (!inner || closing) return;
        bool want = state == State::Handshaking ||
                    (state == State::Open && listener && !paused && !broken && !peer_closed);
        if (want) inner->resume_reading();
        else inner->pause_reading();
    }

    void schedule_pump() {
        if (closing || deferred.active()) return;
        deferred.start(0, [this] {
            if (closing) return;
            std::weak_ptr<int> guard = alive;
            pump();
            if (!guard.expired()) keep_leftover();
        });
    }

    // StreamListener (inner)
    void on_read(std::string_view chunk) override {
        if (closing || state == State::Failed) return;
        if (bufs.avail.empty()) {
            bufs.avail = chunk;
        } else {
            bufs.held = std::string(bufs.avail) + std::string(chunk);
            bufs.avail = bufs.held;
        }
        std::weak_ptr<int> guard = alive;
        pump();
        if (guard.expired()) return;
        keep_leftover();
    }

    void on_eof() override {
        if (closing || state == State::Failed) return;
        inner_eof = true;
        if (state == State::Handshaking) {
            fail_handshake("TLS handshake: connection closed by the peer");
            return;
        }
        // Paused (or no listener): the inner was paused too, so this is a failed write, not
        // the end of the input: report it now, as TcpStream does.
        if (paused || !listener) {
            report_eof();
            return;
        }
        pump();
    }

    void on_drained() override {
        if (closing || state != State::Open || !listener || !pending_plain.empty()) return;
        listener->on_drained();
    }

    // Input left unread when the pump stopped (paused) must not point into the inner's buffer.
    void keep_leftover() {
        if (bufs.avail.empty()) {
            std::string().swap(bufs.held);   // release the memory, not just the contents
            bufs.avail = {};
            return;
        }
        const char* h = bufs.held.data();
        bool in_held = bufs.avail.data() >= h && bufs.avail.data() < h + bufs.held.size();
        if (!in_held || bufs.avail.data() != h) {
            std::string copy(bufs.avail);
            bufs.held.swap(copy);
            bufs.avail = bufs.held;
        }
    }

    // Runs the handshake, then delivers plaintext while someone wants it.
    void pump() {
        std::weak_ptr<int> guard = alive;
        if (state == State::Handshaking) {
            ERR_clear_error();
            int rc = SSL_do_handshake(ssl);
            if (rc != 1) {
                int err = SSL_get_error(ssl, rc);
                flush_out();
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                    if (inner_eof) fail_handshake("TLS handshake: connection closed by the peer");
                    return;
                }
                fail_handshake("TLS handshake: " + describe_failure(err));
                return;
            }
            flush_out();
            state = State::Open;
            done = true;
            if (!pending_plain.empty()) {
                std::string p;
                p.swap(pending_plain);
                encrypt(p);
            }
            update_inner_reading();
            if (auto cb = std::exchange(on_handshake, nullptr)) {
                cb(true, {});
                if (guard.expired()) return;
            }
        }
        if (state != State::Open || closing) return;
        if (broken) {
            report_eof();
            return;
        }
        deliver();
    }

    void deliver() {
        std::weak_ptr<int> guard = alive;
        char buf[16 * 1024];   // one TLS record at most
        while (state == State::Open && !closing && listener && !paused) {
            ERR_clear_error();
            std::size_t n = 0;
            int rc = SSL_read_ex(ssl, buf, sizeof buf, &n);
            int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
            flush_out();   // reading may have produced output (key update, alerts)
            if (rc == 1) {
                listener->on_read(std::string_view(buf, n));
                if (guard.expired()) return;
                continue;
            }
            if (err == SSL_ERROR_WANT_READ) {
                if (inner_eof) report_eof();   // truncated: TCP ended without close_notify
                return;
            }
            if (err == SSL_ERROR_ZERO_RETURN) {
                peer_closed = true;
            } else {
                broken = true;
                error = "TLS: " + describe_failure(err);
            }
            update_inner_reading();
            report_eof();
            return;
        }
    }

    std::string describe_failure(int err) {
        std::string why = err == SSL_ERROR_SSL ? openssl_errors() : "error " + std::to_string(err);
        ERR_clear_error();
        long vr = SSL_get_verify_result(ssl);
        if (vr != X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE && !SSL_is_server(ssl))
            why += std::string(" (") + X509_verify_cert_error_string(vr) + ")";
        return why;
    }

    void fail_handshake(std::string why) {
        state = State::Failed;
        flush_out();   // the alert, if OpenSSL produced one
        if (inner) inner->pause_reading();
        pending_plain.clear();
        if (auto cb = std::exchange(on_handshake, nullptr)) cb(false, std::move(why));
    }

    void report_eof() {
        if (eof_sent || closing || !listener) return;
        eof_sent = true;
        listener->on_eof();   // may destroy us
    }

    void encrypt(std::string_view data) {
        while (!data.empty() && !broken) {
            std::size_t n = std::min(data.size(), kWriteChunk);
            std::size_t written = 0;
            ERR_clear_error();
            int rc = SSL_write_ex(ssl, data.data(), n, &written);
            if (rc != 1) {
                int err = SSL_get_error(ssl, rc);
                broken = true;
                error = "TLS: " + describe_failure(err);
                flush_out();
                update_inner_reading();
                schedule_pump();   // reports on_eof from the loop, never from inside write()
                return;
            }
            flush_out();
            data.remove_prefix(written);
        }
    }
};

TlsTransport::TlsTransport(uv_loop_t* loop, std::unique_ptr<Transport> inner, std::shared_ptr<TlsContext> ctx,
                           TlsRole role, HandshakeCallback on_handshake, std::string server_name)
    : impl_(std::make_unique<Impl>(loop, std::move(inner), std::move(ctx), std::move(on_handshake))) {
    Impl& m = *impl_;
    ERR_clear_error();
    m.ssl = SSL_new(m.ctx->native());
    BIO_METHOD* method = m.ctx->bio_method().method;
    BIO* rbio = m.ssl && method ? BIO_new(method) : nullptr;
    BIO* wbio = rbio ? BIO_new(method) : nullptr;
    if (!wbio) {
        // Out of memory or no BIO method: fail like a handshake would, from the loop.
        if (rbio) BIO_free(rbio);
        std::string why = "TLS: cannot create connection: " + openssl_errors();
        m.state = Impl::State::Failed;
        m.deferred.start(0, [this, why] {
            if (auto cb = std::exchange(impl_->on_handshake, nullptr)) cb(false, why);
        });
        if (m.inner) m.inner->set_listener(&m);
        if (m.inner) m.inner->pause_reading();
        return;
    }
    BIO_set_data(rbio, &m.bufs);
    BIO_set_data(wbio, &m.bufs);
    SSL_set_bio(m.ssl, rbio, wbio);
    if (role == TlsRole::Server) {
        SSL_set_accept_state(m.ssl);
    } else {
        SSL_set_connect_state(m.ssl);
        if (!server_name.empty()) {
            if (is_ip_literal(server_name)) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m.ssl), server_name.c_str());
            } else {
                SSL_set_tlsext_host_name(m.ssl, server_name.c_str());
                SSL_set1_host(m.ssl, server_name.c_str());
            }
        }
    }
    m.inner->set_listener(&m);
    m.inner->resume_reading();
    if (role == TlsRole::Client) {
        // Queue the ClientHello now; the answer arrives through on_read.
        ERR_clear_error();
        int rc = SSL_do_handshake(m.ssl);
        int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(m.ssl, rc);
        m.flush_out();
        if (err != SSL_ERROR_WANT_READ) {
            std::string why = "TLS handshake: " + m.describe_failure(err);
            m.state = Impl::State::Failed;
            m.inner->pause_reading();
            m.deferred.start(0, [this, why] {
                if (auto cb = std::exchange(impl_->on_handshake, nullptr)) cb(false, why);
            });
        }
    }
}

TlsTransport::~TlsTransport() = default;

void TlsTransport::receive_ciphertext(std::string_view bytes) {
    if (!bytes.empty()) impl_->on_read(bytes);
}

void TlsTransport::set_listener(StreamListener* l) {
    Impl& m = *impl_;
    m.listener = l;
    m.update_inner_reading();
    if (l && m.state == Impl::State::Open && (m.has_buffered_input() || m.inner_eof || m.broken)) m.schedule_pump();
}

void TlsTransport::write(std::string bytes) {
    Impl& m = *impl_;
    if (bytes.empty() || m.closing || m.broken || m.state == Impl::State::Failed) return;
    if (m.state == Impl::State::Handshaking) {
        m.pending_plain += bytes;
        return;
    }
    m.encrypt(bytes);
}

std::size_t TlsTransport::queued_bytes() const {
    const Impl& m = *impl_;
    return m.pending_plain.size() + m.bufs.out.size() + (m.inner ? m.inner->queued_bytes() : 0);
}

void TlsTransport::pause_reading() {
    impl_->paused = true;
    impl_->update_inner_reading();
}

void TlsTransport::resume_reading() {
    Impl& m = *impl_;
    m.paused = false;
    m.update_inner_reading();
    if (m.listener && m.state == Impl::State::Open && (m.has_buffered_input() || m.inner_eof || m.broken))
        m.schedule_pump();
}

void TlsTransport::close_after_flush() {
    Impl& m = *impl_;
    if (m.closing) return;
    m.closing = true;
    m.deferred.stop();
    m.pending_plain.clear();
    if (m.state == Impl::State::Open && !m.broken) {
        ERR_clear_error();
        SSL_shutdown(m.ssl);   // queues close_notify; we do not wait for the peer's
        ERR_clear_error();
        m.flush_out();
    }
    if (m.inner) m.inner->close_after_flush();
}

void TlsTransport::close_now() {
    Impl& m = *impl_;
    m.closing = true;
    m.deferred.stop();
    if (m.inner) m.inner->close_now();
}

bool TlsTransport::closed() const { return impl_->closing || (impl_->inner && impl_->inner->closed()); }

bool TlsTransport::handshake_done() const { return impl_->done; }

std::string TlsTransport::version() const { return impl_->done ? SSL_get_version(impl_->ssl) : ""; }

std::string TlsTransport::cipher() const {
    if (!impl_->done) return {};
    const char* name = SSL_get_cipher_name(impl_->ssl);
    return name ? name : "";
}

int TlsTransport::cipher_bits() const { return impl_->done ? SSL_get_cipher_bits(impl_->ssl, nullptr) : 0; }

std::string TlsTransport::peer_certificate_subject() const {
    if (!impl_->done) return {};
    X509* cert = SSL_get0_peer_certificate(impl_->ssl);
    if (!cert) return {};
    BIO* mem = BIO_new(BIO_s_mem());
    if (!mem) return {};
    // RFC 2253 with control and non-ASCII bytes escaped: safe for logs and headers.
    X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(mem, &data);
    std::string out = len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
    BIO_free(mem);
    return out;
}

bool TlsTransport::peer_certificate_verified() const {
    if (!impl_->done || !SSL_get0_peer_certificate(impl_->ssl)) return false;
    return SSL_get_verify_result(impl_->ssl) == X509_V_OK;
}

bool TlsTransport::close_notify_received() const { return impl_->peer_closed; }

}  // namespace asmtpd::io
