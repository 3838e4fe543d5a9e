"""test_chunking.py - CHUNKING (RFC 3030) as a client and an attacker use it: BDAT chunks,
LAST, pipelining, exact octet framing (a BDAT without a transaction consumes its octets and
answers 503, the next command parses normally), "\\r\\n.\\r\\n" inside a chunk is plain content,
databytes across chunks, the bare_lf policy inside chunks, DATA inside a BDAT transaction.

Owner: tooling (t/e2e/).
"""

import smtplib

from harness import E2ETestCase


class ChunkingTest(E2ETestCase):

    def session(self, d):
        c = self.client(d)
        r = c.ehlo()
        self.assertIn(b"CHUNKING", r.raw)
        return c

    def test_chunks_then_last_are_delivered_byte_exact(self):
        d = self.start_daemon()
        c = self.session(d)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        part1 = b"Subject: chunked\r\n\r\nfirst part\r\n.\r\nnot the end\r\n"
        part2 = b"..leading dots stay\r\nlast line\r\n"
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        self.assertEqual(c.expect(250).code, 250)
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        c.expect(250)
        c.cmd("QUIT", 221)
        self.assertDelivered(d, 1)
        msg = d.maildir.messages()[0]
        self.assertEqual(msg.content, part1 + part2)

    def test_pipelined_bdat_with_the_envelope(self):
        d = self.start_daemon()
        c = self.session(d)
        body = b"Subject: pipelined\r\n\r\n" + b"x" * 5000 + b"\r\n"
        c.send(b"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
               b"BDAT 100\r\n" + body[:100] + b"BDAT %d LAST\r\n" % (len(body) - 100) + body[100:] +
               b"NOOP\r\n")
        codes = [c.read_reply().code for _ in range(5)]
        self.assertEqual(codes, [250, 250, 250, 250, 250])
        self.assertDelivered(d, 1)
        self.assertEqual(d.maildir.messages()[0].content, body)

    def test_bdat_without_a_transaction_consumes_its_octets(self):
        d = self.start_daemon()
        c = self.session(d)
        # The chunk holds what looks like a whole transaction: none of it may run.
        smuggled = b"MAIL FROM:<evil@evil.example>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(smuggled) + smuggled + b"NOOP\r\n")
        r = c.read_reply()
        self.assertEqual((r.code, r.esc), (503, "5.5.1"), r.raw)
        c.expect(250)   # the NOOP right after the octets
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<nobody@elsewhere.test>", 550)
        # No recipient was accepted: the chunk is read and refused, the session goes on.
        c.send(b"BDAT 5 LAST\r\nhello")
        c.expect(503, "5.5.1")
        c.cmd("NOOP", 250)
        self.assertDelivered(d, 0)

    def test_size_limit_across_chunks(self):
        d = self.start_daemon(settings={"limits": {"databytes": 1000}})
        c = self.session(d)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        chunk = b"y" * 600
        c.send(b"BDAT 600\r\n" + chunk)
        c.expect(250)
        c.send(b"BDAT 600 LAST\r\n" + chunk)
        r = c.expect(552, "5.3.4")
        c.cmd("NOOP", 250)
        self.assertDelivered(d, 0)

    def test_bare_lf_in_a_chunk_follows_the_policy(self):
        d = self.start_daemon()
        c = self.session(d)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        body = b"Subject: lf\r\n\r\nbare\nlf\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        c.expect(554, "5.5.2")
        self.assertClosed(c)
        self.assertDelivered(d, 0)
        n = self.start_daemon(settings={"bare_lf": "normalize"})
        c = self.session(n)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
        c.expect(250)
        self.assertEqual(n.maildir.messages()[0].content, b"Subject: lf\r\n\r\nbare\r\nlf\r\n")

    def test_data_inside_a_bdat_transaction_and_rset(self):
        d = self.start_daemon()
        c = self.session(d)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.send(b"BDAT 3\r\nabc")
        c.expect(250)
        c.cmd("DATA", 503, "5.5.1")
        c.cmd("RSET", 250)
        c.cmd("MAIL FROM:<a@example.test>", 250)
        c.cmd("RCPT TO:<b@example.test>", 250)
        c.send(b"BDAT 0 LAST\r\n")
        c.expect(250)
        self.assertDelivered(d, 1)
        self.assertEqual(d.maildir.messages()[0].content, b"")

    def test_malformed_bdat_closes(self):
        d = self.start_daemon()
        c = self.session(d)
        c.cmd("BDAT lots", 501, "5.5.4")
        self.assertClosed(c)

    def test_python_smtplib_sends_with_bdat(self):
        # An independent client: smtplib has no BDAT, so drive the commands it exposes.
        d = self.start_daemon()
        s = smtplib.SMTP("127.0.0.1", d.port, timeout=10)
        s.ehlo("client.e2e.test")
        self.assertTrue(s.has_extn("chunking"))
        s.mail("a@example.test")
        s.rcpt("b@example.test")
        body = b"Subject: smtplib\r\n\r\nvia bdat\r\n"
        s.send(b"BDAT %d LAST\r\n" % len(body) + body)
        code, _ = s.getreply()
        self.assertEqual(code, 250)
        s.quit()
        self.assertEqual(d.maildir.messages()[0].content, body)
