// tls_internal.hpp - what tls_context.cpp and tls.cpp share and nobody else may use: the
// buffers behind a connection's BIOs, the BIO method table, and OpenSSL's error text.
//
// Must never be included outside core/io/tls*.cpp. Ownership: a TlsBuffers belongs to one
// TlsTransport and outlives its SSL object; a BioMethod belongs to one TlsContext.
#pragma once

#include <openssl/bio.h>

#include <string>
#include <string_view>

#include "core/io/tls.hpp"

namespace asmtpd::io {

// The two BIOs of one connection share this: input not yet consumed by OpenSSL, and
// ciphertext produced but not yet handed to the inner Transport.
struct TlsBuffers {
    std::string held;          // input that outlived the chunk it arrived in
    std::string_view avail;    // unread input; points into `held` or into the current chunk
    std::string out;
};

// A BIO type whose BIOs read from / write to the TlsBuffers set as their data.
struct TlsContext::BioMethod {
    BIO_METHOD* method = nullptr;
    BioMethod();
    ~BioMethod();
    BioMethod(const BioMethod&) = delete;
    BioMethod& operator=(const BioMethod&) = delete;
};

// OpenSSL's queued errors as one line ("wrong version number (SSL routines)"); empties the
// thread's queue.
std::string openssl_errors();

}  // namespace asmtpd::io
