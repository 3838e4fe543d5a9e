// tls_s_client_test.cpp - tests core/io/tls.cpp (a server TlsTransport) against the real
// `openssl s_client` over loopback, in TLS 1.3 and 1.2: lines echoed, QUIT answered, close_notify.
#include "core/io/tls.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "t/core/io/test_loop.hpp"
#include "t/core/io/tls_certs.hpp"
#include "t/core/io/tls_peers.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::tls_peers;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::Certs;
using asmtpd::io::test::certs;
using asmtpd::io::test::server_ctx;
using asmtpd::io::test::slurp;

TEST_CASE("openssl s_client as the client: lines echoed, QUIT answered and closed with close_notify") {
    for (const char* proto_flag : {"", "-tls1_2"}) {
        CAPTURE(proto_flag);
        TestLoop loop;
        Recorder srec;
        TlsServer server(loop, server_ctx());
        std::string lines;
        srec.on_read_hook = [&](std::string_view b) {
            lines.append(b);
            std::size_t eol;
            while ((eol = lines.find("\r\n")) != std::string::npos) {
                std::string line = lines.substr(0, eol);
                lines.erase(0, eol + 2);
                if (line == "QUIT") {
                    server.tls->write("221 bye\r\n");
                    server.tls->close_after_flush();
                    return;
                }
                server.tls->write("echo " + line + "\r\n");
            }
        };
        server.hs.hook = [&] { server.tls->set_listener(&srec); };

        const Certs& c = certs();
        const std::string out = c.dir + "/s_client.out";
        const std::string cmd = "printf 'hello\\r\\nsecond line\\r\\nQUIT\\r\\n' | timeout 20 openssl s_client -connect 127.0.0.1:" +
                                std::to_string(server.port()) + " -servername localhost -quiet " + proto_flag + " > " +
                                out + " 2>" + c.dir + "/s_client.err";
        std::atomic<bool> done{false};
        int rc = -1;
        std::thread runner([&] {
            rc = std::system(cmd.c_str());
            done = true;
        });
        bool finished = loop.run_until([&] { return done.load(); }, 25000);
        runner.join();
        REQUIRE(finished);
        CHECK(rc == 0);
        REQUIRE(server.hs.calls == 1);
        CHECK(server.hs.ok);
        CHECK(server.tls->version() == (proto_flag[0] ? "TLSv1.2" : "TLSv1.3"));
        CHECK(slurp(out) == "echo hello\r\necho second line\r\n221 bye\r\n");
    }
}

}  // namespace ASMTPD_TEST_UNIT
