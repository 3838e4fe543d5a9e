"""test_proxy.py - PROXY protocol v1 and v2 on `proxy_protocol: true` listeners.

Debian's haproxy in front of asmtpd (generated config, send-proxy / send-proxy-v2, stopped by
pid); the client binds to 127.0.0.5 (or .6) so the address haproxy reports differs from the
proxy's own 127.0.0.1, and the tests show that the original address reaches the Received
header, the relay decision (relayclients), spp's TCPREMOTEIP and the per-IP limit. Raw sockets
send the malformed, untrusted, split and missing headers. Owner: e2e tests of issue 5.
"""

import ipaddress
import re
import smtplib
import ssl
import struct
import time
from pathlib import Path

from harness import REPO, E2ETestCase, deep_merge
from haproxy_support import Haproxy
from tls_support import BioTls, TlsClient, client_context, raw_connect, start_with_listeners, tls_settings

RECORD = REPO / "t" / "fixtures" / "spp" / "record.py"
FOREIGN = "someone@foreign.test"
PLUGINS = ["relay", "spp timeout 3", "rcpt_ok", "queue/maildir {maildir}"]
FILES = {
    "relayclients": "127.0.0.5\n",
    "smtpplugins": f"[mail]\n:{RECORD} {{tmp}}/spp.log MAIL TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT\n",
}
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(src, dst, sport, dport, command=0x1, tlvs=b""):
    """A PROXY v2 header (TCP over IPv4 or IPv6 by the addresses' family)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        fam, addr = 0x11, s.packed + d.packed + struct.pack("!HH", sport, dport)
    else:
        fam, addr = 0x21, s.packed + d.packed + struct.pack("!HH", sport, dport)
    body = addr + tlvs
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


class ProxyTest(E2ETestCase):

    def proxy_daemon(self, settings=None, plugins=None, files=None, extra=None):
        base = {"trusted_proxies": ["127.0.0.1/32"], "timeouts": {"proxy": 2},
                "limits": {"max_connections_per_ip": 50}}
        all_files = dict(FILES)
        all_files.update(files or {})
        d, ports = start_with_listeners(self, extra or [{"proxy_protocol": True}],
                                        plugins=PLUGINS if plugins is None else plugins,
                                        files=all_files, settings=deep_merge(base, settings or {}))
        return d, ports

    def haproxy(self, backend_port, opts):
        h = Haproxy(backend_port, opts)
        self.addCleanup(h.stop)
        h.start()
        return h

    def conn(self, port, source=None, greet=True, timeout=None):
        kw = {"timeout": timeout} if timeout else {}
        c = TlsClient.connect(port, source=source, greet=greet, **kw)
        self.addCleanup(c.close)
        return c

    def spp_lines(self, d):
        p = Path(d.tmp) / "spp.log"
        return p.read_text().splitlines() if p.exists() else []

    def assertClosedSilently(self, c, within, msg=""):
        t0 = time.monotonic()
        self.assertClosed(c, timeout=within)
        self.assertEqual(c.pending(), b"", f"bytes sent on a refused PROXY connection {msg}\n{c.dump()}")
        return time.monotonic() - t0

    # ------------------------------------------------------------ haproxy

    def through_haproxy(self, opts):
        d, [pport] = self.proxy_daemon()
        h = self.haproxy(pport, opts)
        # 127.0.0.5 is a relay client (relayclients): relay works only if asmtpd sees .5.
        c = self.conn(h.port, source="127.0.0.5")
        cport = c.sock.getsockname()[1]
        c.ehlo("five.e2e.test")
        c.send_mail(sender="s@example.test", rcpts=(FOREIGN, ), body=b"Subject: via five\r\n\r\nx\r\n")
        c.cmd("QUIT", 221)
        [m] = self.assertDelivered(d, 1)
        self.assertIn("[127.0.0.5]", m.received)
        self.assertNotIn("127.0.0.1", m.received, "the proxy's address reached the Received header")
        # 127.0.0.6 is not: the same path, a foreign recipient is refused.
        c6 = self.conn(h.port, source="127.0.0.6")
        c6.ehlo("six.e2e.test")
        c6.cmd("MAIL FROM:<s@example.test>", 250)
        c6.cmd(f"RCPT TO:<{FOREIGN}>", 550, "5.7.1")
        c6.cmd("RCPT TO:<a@example.test>", 250)
        c6.cmd("DATA", 354)
        c6.send(b"Subject: via six\r\n\r\nx\r\n.\r\n")
        c6.expect(250)
        c6.cmd("QUIT", 221)
        msgs = self.assertDelivered(d, 2)
        six = [m for m in msgs if b"via six" in m.content]
        self.assertEqual(len(six), 1)
        self.assertIn("[127.0.0.6]", six[0].received)
        # And haproxy's own address is not a relay client either (direct, no proxy).
        c1 = self.conn(d.port)
        c1.ehlo()
        c1.cmd("MAIL FROM:<s@example.test>", 250)
        c1.cmd(f"RCPT TO:<{FOREIGN}>", 550, "5.7.1")
        # spp programs got the original address and port, and haproxy's frontend as local end.
        lines = self.spp_lines(d)
        self.assertEqual(len(lines), 3, lines)
        self.assertIn(f"TCPREMOTEIP='127.0.0.5' TCPREMOTEPORT='{cport}'", lines[0])
        self.assertIn(f"TCPLOCALIP='127.0.0.1' TCPLOCALPORT='{h.port}'", lines[0])
        self.assertIn("TCPREMOTEIP='127.0.0.6'", lines[1])
        self.assertIn(f"TCPLOCALPORT='{d.port}'", lines[2])
        self.assertIn("PROXY v", d.stderr_text())
        return d, h

    def test_haproxy_send_proxy_v1(self):
        d, _ = self.through_haproxy("send-proxy")
        self.assertRegex(d.stderr_text(), r"PROXY v1: client 127\.0\.0\.5:")

    def test_haproxy_send_proxy_v2(self):
        d, _ = self.through_haproxy("send-proxy-v2")
        self.assertRegex(d.stderr_text(), r"PROXY v2: client 127\.0\.0\.5:")

    def test_haproxy_per_ip_limit_uses_real_address(self):
        d, [pport] = self.proxy_daemon(settings={"limits": {"max_connections_per_ip": 1}})
        h = self.haproxy(pport, "send-proxy-v2")
        a = self.conn(h.port, source="127.0.0.5")
        a.ehlo()
        b = self.conn(h.port, source="127.0.0.5", greet=False)
        b.expect(421, "4.7.0")
        self.assertClosed(b)
        # Another client behind the same proxy is not counted with .5.
        c = self.conn(h.port, source="127.0.0.6")
        c.ehlo()
        a.send_mail(rcpts=(FOREIGN, ))
        c.send_mail(rcpts=("a@example.test", ))
        self.assertDelivered(d, 2)

    def test_haproxy_to_smtps_listener(self):
        d, [pport] = self.proxy_daemon(settings=tls_settings(),
                                       extra=[{"proxy_protocol": True, "mode": "smtps"}])
        h = self.haproxy(pport, "send-proxy")
        with smtplib.SMTP_SSL("127.0.0.1", h.port, local_hostname="tls.e2e.test", timeout=15,
                              source_address=("127.0.0.5", 0), context=client_context()) as s:
            version, cipher = s.sock.version(), s.sock.cipher()[0]
            self.assertEqual(s.sendmail("s@example.test", [FOREIGN], b"Subject: tls proxy\r\n\r\nx\r\n"), {})
        [m] = self.assertDelivered(d, 1)
        self.assertIn("[127.0.0.5]", m.received)
        self.assertIn(f"(using {version} with cipher {cipher})", m.received)

    def test_header_and_client_hello_in_one_write(self):
        # What haproxy does when the client is quick: the PROXY header and the client's first
        # TLS bytes arrive together. The bytes after the header belong to the TLS layer.
        d, [pport] = self.proxy_daemon(settings=deep_merge(tls_settings(), {"timeouts": {"tls_handshake": 3}}),
                                       extra=[{"proxy_protocol": True, "mode": "smtps"}])
        header = b"PROXY TCP4 192.0.2.9 127.0.0.1 40009 465\r\n"
        for how in ("header, pause, ClientHello", "header and ClientHello in one write"):
            with self.subTest(how):
                s = raw_connect(pport, timeout=8)
                self.addCleanup(s.close)
                t = BioTls(s)
                if how.startswith("header, pause"):
                    s.sendall(header)
                    time.sleep(0.3)
                try:
                    t.handshake(prefix=b"" if how.startswith("header, pause") else header)
                    greeting = t.read_reply()
                except (OSError, ssl.SSLError) as e:
                    self.fail(f"{how}: TLS after the PROXY header failed: {e!r}\n" + d.stderr_tail(20))
                self.assertTrue(greeting.startswith(b"220 "), greeting)
                t.send(b"EHLO bio.e2e.test\r\n")
                self.assertTrue(t.read_reply().startswith(b"250-"))
                t.send(b"QUIT\r\n")
                self.assertTrue(t.read_reply().startswith(b"221 "))

    # ------------------------------------------------------------ refusals

    def test_untrusted_source_closed_without_banner(self):
        for name, trusted in (("other network", ["10.0.0.0/8", "127.0.0.2/32"]), ("none configured", [])):
            with self.subTest(name):
                d, [pport] = self.proxy_daemon(settings={"trusted_proxies": trusted})
                c = self.conn(pport, greet=False)
                try:
                    c.send(b"PROXY TCP4 127.0.0.5 127.0.0.1 40000 25\r\n")
                except OSError:
                    pass
                self.assertClosedSilently(c, 3, name)
                h = self.haproxy(pport, "send-proxy")
                hc = self.conn(h.port, source="127.0.0.5", greet=False)
                self.assertClosedSilently(hc, 3, "(through haproxy)")
                # The daemon's plain listener is unaffected.
                self.conn(d.port).ehlo()
                self.assertDelivered(d, 0)
                self.assertEqual(self.spp_lines(d), [])

    def test_malformed_header_closed(self):
        d, [pport] = self.proxy_daemon(settings={"timeouts": {"proxy": 5}})
        cases = {
            "bad IPv4": b"PROXY TCP4 999.0.0.1 127.0.0.1 40000 25\r\n",
            "missing port": b"PROXY TCP4 192.0.2.1 127.0.0.1 40000\r\n",
            "port out of range": b"PROXY TCP4 192.0.2.1 127.0.0.1 70000 25\r\n",
            "family mismatch": b"PROXY TCP6 192.0.2.1 127.0.0.1 40000 25\r\n",
            "unknown protocol": b"PROXY UDP4 192.0.2.1 127.0.0.1 40000 25\r\n",
            "lower case": b"proxy TCP4 192.0.2.1 127.0.0.1 40000 25\r\n",
            "double blank": b"PROXY  TCP4 192.0.2.1 127.0.0.1 40000 25\r\n",
            "bare LF": b"PROXY TCP4 192.0.2.1 127.0.0.1 40000 25\nEHLO x\r\n",
            "no CRLF in 108 bytes": b"PROXY TCP4 " + b"1" * 120,
            "SMTP instead of PROXY": b"EHLO client.e2e.test\r\n",
            "v2 bad version": V2_SIG + b"\x11\x11\x00\x0c" + bytes(12),
            "v2 bad command": V2_SIG + b"\x2f\x11\x00\x0c" + bytes(12),
            "v2 address block too short": V2_SIG + b"\x21\x11\x00\x04" + bytes(4),
        }
        for name, data in cases.items():
            with self.subTest(name):
                c = self.conn(pport, greet=False)
                try:
                    c.send(data)
                except OSError:
                    pass
                elapsed = self.assertClosedSilently(c, 4.5, name)
                self.assertLess(elapsed, 2.5, f"{name}: closed only by the deadline ({elapsed:.1f}s)")
        self.assertTrue(d.running())
        self.assertDelivered(d, 0)
        self.assertEqual(self.spp_lines(d), [])

    def test_no_header_in_time_closed(self):
        d, [pport] = self.proxy_daemon()
        for name, data in (("nothing", b""), ("half a v1 header", b"PROXY TCP4 192.0."),
                           ("half a v2 header", V2_SIG + b"\x21")):
            with self.subTest(name):
                c = self.conn(pport, greet=False, timeout=10)
                if data:
                    c.send(data)
                elapsed = self.assertClosedSilently(c, 8, name)
                self.assertGreaterEqual(elapsed, 1.5, f"{name}: closed after {elapsed:.2f}s, before the deadline")
                self.assertLess(elapsed, 5.0, f"{name}: closed after {elapsed:.2f}s")
        self.assertTrue(d.wait_for_log(r"no PROXY header in time"), d.stderr_tail())

    # ------------------------------------------------------------ raw headers that are fine

    def send_and_deliver(self, d, pport, chunks, subject, pause=0.3):
        """Sends the header in chunks (pause s apart: all within timeouts.proxy), then mails."""
        c = self.conn(pport, greet=False)
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(pause)
                self.assertEqual(c.drain(0.05), b"", f"greeting before the header was complete\n{c.dump()}")
            c.send(chunk)
        c.expect(220)
        c.ehlo("raw.e2e.test")
        c.send_mail(rcpts=("a@example.test", ), body=f"Subject: {subject}\r\n\r\nx\r\n".encode())
        c.cmd("QUIT", 221)
        for m in d.maildir.messages():
            if f"Subject: {subject}".encode() in m.content:
                return m
        self.fail(f"no message {subject!r} in the maildir")

    def test_v1_header_in_two_writes(self):
        d, [pport] = self.proxy_daemon()
        m = self.send_and_deliver(d, pport, [b"PROXY TCP4 192.0.2.7 127.0.0.1 4", b"0007 25\r\n"], "split v1")
        self.assertIn("[192.0.2.7]", m.received)
        m = self.send_and_deliver(d, pport, [b"PROXY TCP4 192.0.2.8 127.0.0.1 40008 25\r", b"\n"], "split at CRLF")
        self.assertIn("[192.0.2.8]", m.received)
        lines = self.spp_lines(d)
        self.assertIn("TCPREMOTEIP='192.0.2.7' TCPREMOTEPORT='40007'", lines[0])
        self.assertIn("TCPREMOTEIP='192.0.2.8' TCPREMOTEPORT='40008'", lines[1])

    def test_v2_ipv6_byte_by_byte(self):
        d, [pport] = self.proxy_daemon(settings={"timeouts": {"proxy": 5}})
        hdr = v2_header("2001:db8::7", "2001:db8::25", 40006, 25, tlvs=b"\x04\x00\x01\x00")   # PP2_TYPE_NOOP
        m = self.send_and_deliver(d, pport, [hdr[i:i + 1] for i in range(0, 20)] + [hdr[20:]], "v2 ipv6",
                                 pause=0.02)
        self.assertIn("2001:db8::7", m.received)
        lines = self.spp_lines(d)
        self.assertIn("TCPREMOTEIP='2001:db8::7' TCPREMOTEPORT='40006'", lines[0])

    def test_local_and_unknown_keep_the_peer_address(self):
        d, [pport] = self.proxy_daemon()
        m = self.send_and_deliver(d, pport, [b"PROXY UNKNOWN\r\n"], "v1 unknown")
        self.assertIn("[127.0.0.1]", m.received)
        local = V2_SIG + b"\x20\x00\x00\x00"        # LOCAL: a health check by the proxy itself
        m = self.send_and_deliver(d, pport, [local], "v2 local")
        self.assertIn("[127.0.0.1]", m.received)
