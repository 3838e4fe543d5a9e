// sock_name.cpp - sockaddr -> (ip text, port), shared by TcpStream and Listener.
//
// Must never: allocate beyond the returned string or keep state. IPv4-mapped IPv6 addresses are
// unwrapped by the address bytes, not by string surgery, so "::ffff:0:0"-style oddities stay exact.
#include "core/io/sock_name.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace asmtpd::io {

SockName sock_name_of(const sockaddr* sa) {
    SockName out;
    char text[INET6_ADDRSTRLEN] = {};
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        if (uv_ip4_name(in, text, sizeof text) == 0) out.ip = text;
        out.port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        out.port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            sockaddr_in in{};
            in.sin_family = AF_INET;
            std::memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
            if (uv_ip4_name(&in, text, sizeof text) == 0) out.ip = text;
        } else if (uv_ip6_name(in6, text, sizeof text) == 0) {
            out.ip = text;
        }
    }
    return out;
}

SockName peer_name(const uv_tcp_t* tcp) {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    return sock_name_of(reinterpret_cast<const sockaddr*>(&ss));
}

SockName local_name(const uv_tcp_t* tcp) {
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    return sock_name_of(reinterpret_cast<const sockaddr*>(&ss));
}

}  // namespace asmtpd::io
