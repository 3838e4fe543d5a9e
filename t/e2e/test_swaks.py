"""test_swaks.py - a real third-party client: swaks with PIPELINING, and quitting half-way.

Owner: tooling (t/e2e/).
"""

import subprocess
import unittest

from harness import E2ETestCase


def swaks(port, *args):
    p = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--helo", "swaks.e2e.test",
                        "--from", "s@example.test", *args],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


class SwaksTest(E2ETestCase):

    def test_pipeline(self):
        d = self.start_daemon()
        rc, out = swaks(d.port, "--to", "a@example.test", "--pipeline",
                        "--header", "Subject: swaks pipelined", "--body", "pipelined body")
        self.assertEqual(rc, 0, out[-3000:])
        self.assertIn("PIPELINING", out)
        [m] = self.assertDelivered(d, 1)
        self.assertIn(b"Subject: swaks pipelined", m.content)
        self.assertIn(b"pipelined body", m.content)
        self.assertIn("swaks.e2e.test", m.received)

    def test_pipeline_with_refused_recipient(self):
        d = self.start_daemon()
        rc, out = swaks(d.port, "--to", "x@foreign.test", "--pipeline")
        self.assertNotEqual(rc, 0, out[-3000:])
        self.assertIn("550", out)
        self.assertDelivered(d, 0)

    def test_quit_after_rcpt(self):
        d = self.start_daemon()
        rc, out = swaks(d.port, "--to", "a@example.test", "--quit-after", "RCPT")
        self.assertEqual(rc, 0, out[-3000:])
        self.assertRegex(out, r"<- +221")
        self.assertDelivered(d, 0)

    def test_several_recipients(self):
        d = self.start_daemon()
        rc, out = swaks(d.port, "--to", "a@example.test,b@example.test,c@localhost")
        self.assertEqual(rc, 0, out[-3000:])
        [m] = self.assertDelivered(d, 1)
        self.assertIn(b"To: a@example.test,b@example.test,c@localhost", m.content)


if __name__ == "__main__":
    unittest.main()
