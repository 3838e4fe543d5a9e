"""test_tls.py - STARTTLS (RFC 3207) and implicit TLS (smtps) against the real daemon.

Real clients: openssl s_client -starttls smtp, swaks --tls / --tlsc, Python smtplib starttls()
and SMTP_SSL, and a raw client that wraps its socket in place (tls_support.TlsClient) for the
plaintext-injection probe, the state reset, stalled and garbage handshakes. Certificates are
made per run with `openssl req -x509`. Every test asserts the replies and the maildir.
Owner: e2e tests of issue 5.
"""

import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path

from harness import HOSTNAME, E2ETestCase, deep_merge
from tls_support import (TlsClient, client_context, ehlo_keywords, make_cert, server_cert, smtps_connect,
                         start_prepared, start_with_listeners, swaks, tls_settings)

BODY = b"Subject: over tls\r\n\r\nsecret text\r\n"
RX_TLS_RECEIVED = re.compile(r"\(using (TLSv1(?:\.[0-3])?) with cipher ([A-Z0-9_-]+)\)")


class TlsTest(E2ETestCase):

    def tls_daemon(self, settings=None, plugins=None, files=None):
        return self.start_daemon(settings=deep_merge(tls_settings(), settings or {}), plugins=plugins,
                                 files=files)

    def tls_client(self, port, greet=True, timeout=None, **kw):
        c = TlsClient.connect(port, greet=greet, **({"timeout": timeout} if timeout else {}), **kw)
        self.addCleanup(c.close)
        return c

    def assertTlsReceived(self, m, version, cipher):
        """Our Received field says ESMTPS and names exactly the version and cipher used."""
        self.assertIsNotNone(m.received, m.raw[:400])
        self.assertRegex(m.received, r"\bwith ESMTPSA?\b")
        found = RX_TLS_RECEIVED.search(m.received)
        self.assertIsNotNone(found, f"no '(using <version> with cipher <name>)' in {m.received!r}")
        self.assertEqual(found.group(1), version, m.received)
        self.assertEqual(found.group(2), cipher, m.received)

    # ------------------------------------------------------------ advertising and basics

    def test_starttls_offered_once_and_state_forgotten(self):
        d = self.tls_daemon()
        c = self.tls_client(d.port)
        r = c.ehlo("plain.e2e.test")
        self.assertIn("STARTTLS", ehlo_keywords(r), r.raw)
        c.cmd("STARTTLS now", 501)          # RFC 3207 §4: no parameters
        c.starttls()
        # Nothing unsolicited after the handshake.
        self.assertEqual(c.drain(0.5), b"", c.dump())
        # RFC 3207 §4.2: the server forgets HELO/EHLO; a transaction needs a new EHLO.
        c.cmd("MAIL FROM:<s@example.test>", 503)
        r2 = c.ehlo("secure.e2e.test")
        self.assertNotIn("STARTTLS", ehlo_keywords(r2), f"STARTTLS offered inside TLS: {r2.raw!r}")
        c.cmd("STARTTLS", 503)
        c.send_mail(body=BODY)
        c.cmd("QUIT", 221)
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(BODY))
        self.assertIn("secure.e2e.test", m.received)
        self.assertNotIn("plain.e2e.test", m.received, "the plaintext EHLO name survived STARTTLS")
        self.assertTlsReceived(m, c.tls_version, c.tls_cipher)

    def test_starttls_refused_inside_transaction(self):
        d = self.tls_daemon()
        c = self.tls_client(d.port)
        c.ehlo()
        c.cmd("MAIL FROM:<s@example.test>", 250)
        c.cmd("STARTTLS", 503)
        # The refusal keeps the plaintext transaction as it was.
        c.cmd("RCPT TO:<a@example.test>", 250)
        c.cmd("DATA", 354)
        c.send(b"Subject: plain\r\n\r\nx\r\n.\r\n")
        c.expect(250)
        [m] = self.assertDelivered(d, 1)
        self.assertIsNone(RX_TLS_RECEIVED.search(m.received), m.received)
        self.assertRegex(m.received, r"\bwith ESMTP\b")

    def test_no_tls_settings_no_starttls(self):
        d = self.start_daemon()
        c = self.tls_client(d.port)
        r = c.ehlo()
        self.assertNotIn("STARTTLS", ehlo_keywords(r), r.raw)
        c.cmd("STARTTLS", 502)
        # The session goes on in plaintext.
        c.send_mail(body=b"Subject: p\r\n\r\nplain\r\n")
        [m] = self.assertDelivered(d, 1)
        self.assertIsNone(RX_TLS_RECEIVED.search(m.received), m.received)

    # ------------------------------------------------------------ real clients

    def test_openssl_s_client_starttls(self):
        cert = server_cert()
        d = self.tls_daemon()
        script = b"EHLO after.e2e.test\nQUIT\n"
        p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-name", "client.e2e.test",
                            "-connect", f"127.0.0.1:{d.port}", "-servername", HOSTNAME,
                            "-CAfile", cert.cert, "-verify_return_error", "-verify_hostname", HOSTNAME,
                            "-crlf", "-ign_eof"],
                           input=script, capture_output=True, timeout=60)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        both = f"stdout:\n{out[-4000:]}\nstderr:\n{err[-2000:]}"
        self.assertEqual(p.returncode, 0, both)
        self.assertNotIn("Didn't find STARTTLS", err + out, both)
        self.assertIn("Verify return code: 0 (ok)", out, both)
        self.assertRegex(out, r"Protocol\s*:\s*TLSv1\.[23]", both)
        # The EHLO sent inside TLS: answered, multi-line, without STARTTLS.
        ehlo_lines = [l for l in out.splitlines() if re.match(r"^250[- ]", l)]
        self.assertTrue(ehlo_lines and ehlo_lines[0].startswith("250-" + HOSTNAME), both)
        self.assertFalse([l for l in ehlo_lines if "STARTTLS" in l.upper()], both)
        self.assertRegex(out, r"(?m)^221[ -]", both)
        self.assertDelivered(d, 0)

    def test_swaks_tls_delivery(self):
        d = self.tls_daemon()
        rc, out = swaks("--server", f"127.0.0.1:{d.port}", "--to", "a@example.test",
                        "--from", "s@example.test", "--ehlo", "swaks.e2e.test", "--tls",
                        "--header", "Subject: swaks tls")
        self.assertEqual(rc, 0, out[-3000:])
        m = re.search(r"TLS started with cipher (TLSv1(?:\.[0-3])?):([A-Z0-9_-]+)", out)
        self.assertIsNotNone(m, out[-3000:])
        [msg] = self.assertDelivered(d, 1)
        self.assertIn(b"Subject: swaks tls", msg.content)
        self.assertTlsReceived(msg, m.group(1), m.group(2))

    def test_swaks_tlsc_smtps_listener(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}], settings=tls_settings())
        rc, out = swaks("--server", f"127.0.0.1:{smtps}", "--tlsc", "--to", "a@example.test",
                        "--from", "s@example.test", "--header", "Subject: swaks smtps")
        self.assertEqual(rc, 0, out[-3000:])
        m = re.search(r"TLS started with cipher (TLSv1(?:\.[0-3])?):([A-Z0-9_-]+)", out)
        self.assertIsNotNone(m, out[-3000:])
        # No STARTTLS on a connection that is TLS from the start.
        self.assertNotRegex(out, r"<[~ -]+ *250[ -]STARTTLS", out[-3000:])
        [msg] = self.assertDelivered(d, 1)
        self.assertIn(b"Subject: swaks smtps", msg.content)
        self.assertTlsReceived(msg, m.group(1), m.group(2))

    def test_smtplib_starttls(self):
        d = self.tls_daemon()
        msg = b"From: <s@example.test>\r\nTo: <a@example.test>\r\nSubject: smtplib\r\n\r\n.dot line\r\nend\r\n"
        with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.e2e.test", timeout=15) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            code, _ = s.starttls(context=client_context())
            self.assertEqual(code, 220)
            version, cipher = s.sock.version(), s.sock.cipher()[0]
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS offered twice")
            self.assertEqual(s.sendmail("s@example.test", ["a@example.test"], msg), {})
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(msg))
        self.assertTlsReceived(m, version, cipher)

    def test_smtplib_starttls_tls12(self):
        d = self.tls_daemon()
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        with smtplib.SMTP("127.0.0.1", d.port, local_hostname="client.e2e.test", timeout=15) as s:
            s.starttls(context=ctx)
            self.assertEqual(s.sock.version(), "TLSv1.2")
            cipher = s.sock.cipher()[0]
            s.sendmail("s@example.test", ["a@example.test"], b"Subject: tls12\r\n\r\nx\r\n")
        [m] = self.assertDelivered(d, 1)
        self.assertTlsReceived(m, "TLSv1.2", cipher)

    def test_smtplib_smtps(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}], settings=tls_settings())
        with smtplib.SMTP_SSL("127.0.0.1", smtps, local_hostname="client.e2e.test", timeout=15,
                              context=client_context()) as s:
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"), "STARTTLS offered on an smtps connection")
            version, cipher = s.sock.version(), s.sock.cipher()[0]
            self.assertEqual(s.sendmail("s@example.test", ["a@example.test"], BODY), {})
        [m] = self.assertDelivered(d, 1)
        self.assertEqual(m.content, m.stored_form(BODY))
        self.assertTlsReceived(m, version, cipher)

    def test_smtps_listener_speaks_no_plaintext(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}], settings=tls_settings())
        c = self.tls_client(smtps, greet=False)
        # The server waits for a ClientHello: no plaintext greeting.
        self.assertEqual(c.drain(0.8), b"", c.dump())
        c.send("EHLO plain.e2e.test\r\n")
        self.assertClosed(c)
        self.assertFalse(c.pending().startswith(b"2"), f"plaintext reply on smtps: {c.pending()!r}")
        # The plain listener of the same daemon still serves.
        c2 = self.tls_client(d.port)
        c2.ehlo()

    def test_large_message_over_tls(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}], settings=tls_settings())
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789\r\n"
        body = b"Subject: big\r\n\r\n" + b"".join(b"%06d " % i + line for i in range(30000))  # ~2.4 MB
        for where in ("STARTTLS", "smtps"):
            with self.subTest(where):
                if where == "STARTTLS":
                    c = self.tls_client(d.port, timeout=30)
                    c.ehlo()
                    c.starttls()
                else:
                    c = smtps_connect(smtps, timeout=30)
                    self.addCleanup(c.close)
                c.ehlo()
                c.cmd("MAIL FROM:<s@example.test>", 250)
                c.cmd("RCPT TO:<a@example.test>", 250)
                c.cmd("DATA", 354)
                c.send(body + b".\r\n")
                c.expect(250, timeout=60)
                c.cmd("QUIT", 221)
        msgs = self.assertDelivered(d, 2)
        for m in msgs:
            self.assertEqual(m.content, m.stored_form(body))
            self.assertIsNotNone(RX_TLS_RECEIVED.search(m.received), m.received)

    # ------------------------------------------------------------ CVE-2011-0411 class

    def test_injected_command_after_starttls_is_discarded(self):
        d = self.tls_daemon()
        c = self.tls_client(d.port)
        c.ehlo()
        c.send(b"STARTTLS\r\nRSET\r\n")      # one write: RSET rides in the same segment
        c.expect(220)
        c.handshake()                        # fails the test if RSET was answered in plaintext
        # A reply to the injected RSET would now arrive unasked.
        self.assertEqual(c.drain(1.0), b"", f"reply to the injected RSET after TLS\n{c.dump()}")
        r = c.cmd("EHLO probe.e2e.test", 250)
        self.assertTrue(r.lines[0].startswith(HOSTNAME), f"first reply is not our EHLO's: {r.raw!r}")
        self.assertGreater(len(r.lines), 1, r.raw)
        c.cmd("NOOP", 250)
        self.assertEqual(c.drain(0.3), b"", c.dump())
        self.assertTrue(d.wait_for_log(r"discard", timeout=2), "no log line about discarded input")

    def test_injected_transaction_after_starttls_is_discarded(self):
        d = self.tls_daemon()
        c = self.tls_client(d.port)
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil.e2e.test\r\nMAIL FROM:<evil@example.test>\r\n"
               b"RCPT TO:<a@example.test>\r\n")
        c.expect(220)
        c.handshake()
        self.assertEqual(c.drain(1.0), b"", c.dump())
        # Had the injected commands run, this session would be in a transaction now.
        c.cmd("RCPT TO:<a@example.test>", 503)
        c.cmd("DATA", 503)
        c.ehlo("good.e2e.test")
        c.send_mail(sender="good@example.test", body=b"Subject: good\r\n\r\nx\r\n")
        [m] = self.assertDelivered(d, 1)
        self.assertIn("good.e2e.test", m.received)
        self.assertNotIn("evil", m.raw.decode(errors="replace"))

    # ------------------------------------------------------------ broken handshakes

    def test_stalled_handshake_closed_after_deadline(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}],
                                          settings=deep_merge(tls_settings(), {"timeouts": {"tls_handshake": 2}}))
        with self.subTest("STARTTLS"):
            c = self.tls_client(d.port, timeout=10)
            c.ehlo()
            c.cmd("STARTTLS", 220)
            t0 = time.monotonic()
            self.assertClosed(c, timeout=8)
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 1.5, f"closed after {elapsed:.2f}s, before the deadline")
            self.assertLess(elapsed, 5.0, f"closed after {elapsed:.2f}s")
            self.assertEqual(c.pending(), b"", "the server wrote something to a stalled handshake")
        with self.subTest("smtps"):
            c = self.tls_client(smtps, greet=False, timeout=10)
            t0 = time.monotonic()
            self.assertClosed(c, timeout=8)
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 1.5, f"closed after {elapsed:.2f}s")
            self.assertLess(elapsed, 5.0, f"closed after {elapsed:.2f}s")
            self.assertEqual(c.pending(), b"")
        self.assertTrue(d.wait_for_log(r"(?i)handshake timeout"), "no log line for the handshake timeout")
        # A stalled peer does not keep the daemon from serving others.
        c = self.tls_client(d.port)
        c.ehlo()
        c.starttls()
        c.ehlo()
        c.send_mail()
        self.assertDelivered(d, 1)

    def _client_hello(self):
        """The first flight of a real TLS client, from a memory BIO."""
        ctx = client_context()
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_hostname=HOSTNAME)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = outgoing.read()
        self.assertEqual(hello[:1], b"\x16", "not a TLS handshake record")
        return hello

    def test_garbage_handshake_closes_without_crash(self):
        d, [smtps] = start_with_listeners(self, [{"mode": "smtps"}], settings=tls_settings())
        hello = self._client_hello()
        payloads = {
            "random": os.urandom(4096),
            "record header then random": b"\x16\x03\x01\x02\x00" + os.urandom(512),
            "huge record length": b"\x16\x03\x03\xff\xff" + os.urandom(64),
            "http": b"GET / HTTP/1.0\r\n\r\n",
            "zeros": b"\0" * 1024,
        }
        for name, data in payloads.items():
            for where in ("STARTTLS", "smtps"):
                with self.subTest(payload=name, where=where):
                    if where == "STARTTLS":
                        c = self.tls_client(d.port, timeout=10)
                        c.ehlo()
                        c.cmd("STARTTLS", 220)
                    else:
                        c = self.tls_client(smtps, greet=False, timeout=10)
                    try:
                        c.send(data)
                    except OSError:
                        pass   # closed while we were still writing: fine
                    self.assertClosed(c, timeout=8)
                    self.assertFalse(re.match(rb"^\d{3}[ -]", c.pending()),
                                     f"SMTP reply in place of TLS: {c.pending()!r}")
        # A client that leaves in the middle of its handshake.
        for where in ("STARTTLS", "smtps"):
            with self.subTest(payload="half a ClientHello, then close", where=where):
                if where == "STARTTLS":
                    c = self.tls_client(d.port)
                    c.ehlo()
                    c.cmd("STARTTLS", 220)
                else:
                    c = self.tls_client(smtps, greet=False)
                c.send(hello[:len(hello) // 2])
                time.sleep(0.1)
                c.close()
        self.assertTrue(d.running(), "daemon died on a garbage handshake\n" + d.stderr_tail())
        # And a good TLS session still works after all that.
        c = self.tls_client(d.port)
        c.ehlo()
        c.starttls()
        c.ehlo()
        c.send_mail(body=BODY)
        [m] = self.assertDelivered(d, 1)
        self.assertTlsReceived(m, c.tls_version, c.tls_cipher)

    # ------------------------------------------------------------ settings

    def test_min_version_refuses_older_clients(self):
        d = self.tls_daemon(settings={"tls": {"min_version": "TLSv1.3"}})
        c = self.tls_client(d.port)
        c.ehlo()
        c.cmd("STARTTLS", 220)
        with self.assertRaises((ssl.SSLError, OSError)):
            c.handshake(client_context(max_version=ssl.TLSVersion.TLSv1_2))
        c.close()
        c2 = self.tls_client(d.port)
        c2.ehlo()
        c2.starttls(client_context())
        self.assertEqual(c2.tls_version, "TLSv1.3")
        c2.ehlo()
        c2.send_mail()
        [m] = self.assertDelivered(d, 1)
        self.assertTlsReceived(m, "TLSv1.3", c2.tls_cipher)

    def test_cipher_list_is_applied(self):
        want = "ECDHE-ECDSA-AES128-GCM-SHA256"
        d = self.tls_daemon(settings={"tls": {"ciphers": want}})
        for offered in ("ECDHE-ECDSA-AES256-GCM-SHA384:" + want, "ECDHE-ECDSA-CHACHA20-POLY1305:" + want):
            with self.subTest(offered=offered):
                ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
                ctx.set_ciphers(offered)
                c = self.tls_client(d.port)
                c.ehlo()
                c.starttls(ctx)
                self.assertEqual(c.tls_cipher, want)
                c.cmd("QUIT", 221)
        # A client that offers only ciphers outside the list fails the handshake.
        ctx = client_context(max_version=ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
        c = self.tls_client(d.port)
        c.ehlo()
        c.cmd("STARTTLS", 220)
        with self.assertRaises((ssl.SSLError, OSError)):
            c.handshake(ctx)

    def test_tls_plugin_line(self):
        cert = server_cert()
        variants = {
            "cert and key": (["tls server.crt server.key"], {}),
            "combined file": (["tls combined.pem"], {}),
            "defaults": (["tls"], {"ssl/qpsmtpd-server.crt": cert.cert, "ssl/qpsmtpd-server.key": cert.key}),
        }
        for name, (tls_lines, ssl_files) in variants.items():
            with self.subTest(name):
                def prepare(d, ssl_files=ssl_files):
                    for rel, src in ssl_files.items():
                        dst = d.config_dir / rel
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(src, dst)
                files = {"server.crt": open(cert.cert).read(), "server.key": open(cert.key).read(),
                         "combined.pem": open(cert.combined).read()}
                d = start_prepared(self, prepare, files=files,
                                   plugins=tls_lines + ["rcpt_ok", "queue/maildir {maildir}"])
                c = self.tls_client(d.port)
                r = c.ehlo()
                self.assertIn("STARTTLS", ehlo_keywords(r), r.raw)
                c.starttls()      # verifies the certificate from the config directory
                c.ehlo()
                c.send_mail(body=BODY)
                c.cmd("QUIT", 221)
                [m] = self.assertDelivered(d, 1)
                self.assertTlsReceived(m, c.tls_version, c.tls_cipher)

    def test_bad_tls_settings_fail_start(self):
        # Each refusal names the line that set the value, the key, and what is wrong in words.
        missing = str(server_cert().cert) + ".missing"
        encrypted = Path(server_cert().key).parent / "encrypted.key"
        subprocess.run(["openssl", "pkey", "-in", str(server_cert().key), "-aes256", "-passout", "pass:x",
                        "-out", str(encrypted)], check=True, capture_output=True, timeout=60)
        cases = {
            "missing cert": ({"tls": {"cert": missing, "key": server_cert().key}}, None,
                             "cert", r"the file cannot be read: No such file or directory"),
            "not a certificate": ({"tls": {"cert": server_cert().key, "key": server_cert().key}}, None,
                                  "cert", r"the file holds no PEM certificate"),
            "key does not match": ({"tls": {"cert": server_cert().cert, "key": make_cert("other").key}}, None,
                                   "key", r"this private key does not belong to the certificate in "),
            "encrypted key": ({"tls": {"cert": server_cert().cert, "key": encrypted}}, None,
                              "key", r"the private key is protected by a passphrase"),
            "bad min_version": (tls_settings(min_version="SSLv2"), None, "min_version", r"SSLv2"),
            "plugin line": ({}, ["tls " + missing], None, r"plugins:1: tls: \S+\.missing: the file cannot be read"),
        }
        for name, (settings, plugins, key, words) in cases.items():
            with self.subTest(name):
                d = self.start_daemon(settings=settings, plugins=(plugins or []) + ["rcpt_ok", "queue/discard"],
                                      wait=False, check_exit=False)
                d.wait(20)
                self.assertIsNotNone(d.returncode, f"daemon started with {name}\n" + d.stderr_tail())
                self.assertNotEqual(d.returncode, 0)
                err = d.stderr_text()
                if key:
                    lines = (d.config_dir / "asmtpd.yaml").read_text().splitlines()
                    line = next(i for i, text in enumerate(lines, 1) if re.match(rf"\s*{key}:", text))
                    self.assertRegex(err, rf"asmtpd\.yaml:{line}: tls\.{key}: .*{words}", d.stderr_tail())
                else:
                    self.assertRegex(err, words, d.stderr_tail())
                for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                    self.assertNotIn(marker, err)

    def test_sighup_reloads_certificate(self):
        a, b = make_cert("reload-a"), make_cert("reload-b")

        def prepare(d):
            shutil.copyfile(a.cert, d.tmp / "live.crt")
            shutil.copyfile(a.key, d.tmp / "live.key")
            d.settings["tls"] = {"cert": str(d.tmp / "live.crt"), "key": str(d.tmp / "live.key")}
            d.write_config()
        d = start_prepared(self, prepare)
        c = self.tls_client(d.port)
        c.ehlo()
        c.starttls(client_context(a))
        c.cmd("QUIT", 221)
        shutil.copyfile(b.cert, d.tmp / "live.crt")
        shutil.copyfile(b.key, d.tmp / "live.key")
        d.signal(signal.SIGHUP)
        self.assertTrue(d.wait_for_log(r"configuration reloaded"), d.stderr_tail())
        c2 = self.tls_client(d.port)
        c2.ehlo()
        c2.starttls(client_context(b))   # only b is trusted now
        c2.ehlo()
        c2.send_mail()
        self.assertDelivered(d, 1)
