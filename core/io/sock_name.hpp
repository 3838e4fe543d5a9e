// sock_name.hpp - textual address and port of either end of a libuv TCP handle.
//
// Must never: return an IPv4-mapped IPv6 form ("::ffff:1.2.3.4"); such peers read as IPv4 so that
// per-IP limits and access lists see one spelling. Pure helpers: no ownership, no I/O beyond
// getsockname/getpeername.
#pragma once

#include <cstdint>
#include <string>

#include <uv.h>

namespace asmtpd::io {

struct SockName {
    std::string ip;          // empty when unknown
    std::uint16_t port = 0;
};

SockName sock_name_of(const sockaddr* sa);
SockName peer_name(const uv_tcp_t* tcp);
SockName local_name(const uv_tcp_t* tcp);

}  // namespace asmtpd::io
