// proxy_header.hpp - the HAProxy PROXY protocol header (v1 text, v2 binary) that a trusted
// load balancer puts before the client's first byte, carrying the client's real address.
//
// Pure and total: no I/O, any bytes give NeedMore, Error or Done; never reads past the header.
// It never guesses: input whose first bytes cannot start either signature is an Error at
// once (no fallback to "no header"), and every field is checked strictly. Whether a peer may
// send a header at all (trusted_proxies), and the deadline for it, are the session's.
//
// Choices where the spec leaves room:
// - v1 UNKNOWN and v2 LOCAL (any family) are Done with local=true: use the socket's own
//   addresses. The v1 UNKNOWN line must still be printable ASCII up to its CRLF.
// - v2 PROXY with AF_UNSPEC, AF_UNIX or a datagram transport is an Error: there is no TCP
//   client address to feed plugins, per-IP limits and Received, and accepting it would make
//   the proxy's own address look like the client (relay rights by accident).
// - v2 TLVs are skipped but must tile the rest of the block exactly (bounds-checked); the
//   CRC32C TLV is not verified. A v2 header is at most kProxyV2MaxSize bytes in all (the
//   length field is checked as soon as it arrives), which leaves room for every TLV HAProxy
//   sends (ALPN, authority, unique id <= 128, SSL sub-TLVs).
// - Addresses come back as canonical text; IPv4-mapped IPv6 reads as IPv4 ("1.2.3.4"),
//   like accepted sockets (io/sock_name), so access lists see one spelling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace asmtpd::proto {

inline constexpr std::size_t kProxyV1MaxSize = 107;    // "PROXY TCP6 <39> <39> 65535 65535\r\n"
inline constexpr std::size_t kProxyV2MaxSize = 2048;   // 16-byte fixed part + addresses + TLVs
// The 12-byte v2 signature.
inline constexpr std::string_view kProxyV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

struct ProxyHeader {
    int version = 0;             // 1 or 2
    std::size_t consumed = 0;    // header length; the client's own bytes start here
    bool local = false;          // v2 LOCAL / v1 UNKNOWN: keep the socket's addresses
    std::string src_ip;          // empty when local
    std::uint16_t src_port = 0;
    std::string dst_ip;
    std::uint16_t dst_port = 0;
    bool operator==(const ProxyHeader&) const = default;
};

struct ProxyParse {
    enum class Status { NeedMore, Error, Done };
    Status status = Status::NeedMore;
    std::string error;           // Error: one line for the log ("PROXY v1: port with leading zero")
    ProxyHeader header;          // Done

    bool need_more() const { return status == Status::NeedMore; }
    bool failed() const { return status == Status::Error; }
    bool done() const { return status == Status::Done; }
};

// `buffered` is everything received on the connection so far. NeedMore means a longer
// buffer may still parse; Error and Done are final (more bytes never change them).
ProxyParse parse_proxy_header(std::string_view buffered);

}  // namespace asmtpd::proto
