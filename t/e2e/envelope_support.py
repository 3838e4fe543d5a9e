"""envelope_support.py - a queue backend for end-to-end tests that records the envelope.

queue/maildir stores the message only, so a test that must check MAIL FROM and RCPT TO as the
backend got them (RSET clears recipients, a second EHLO resets the sender ...) queues through
queue/qmail-queue and t/fixtures/fake-qmail-queue instead: the real plugin, the real child
process and qmail-queue's envelope protocol, and the fake stores message and envelope per
delivery under <daemon tmp>/qq/<id>/.

    class MyTest(EnvelopeRecording, E2ETestCase):
        d = self.start_recording_daemon()
        ... send one message ...
        [q] = self.assertQueued(d, 1)
        q.sender, q.recipients, q.message.received, q.message.content
"""

from dataclasses import dataclass

from harness import REPO, Message

FAKE_QQ = str(REPO / "t" / "fixtures" / "fake-qmail-queue")


@dataclass
class Queued:
    sender: str          # MAIL FROM as queued ("" for the null sender)
    recipients: list     # RCPT TO addresses, in order
    message: Message     # the bytes the backend got: our Received field, then the content


def parse_envelope(raw: bytes):
    """qmail-queue's envelope: b"F<sender>\\0" then b"T<rcpt>\\0" each, then b"\\0"."""
    if not raw.endswith(b"\0\0") or not raw.startswith(b"F"):
        raise AssertionError(f"malformed envelope {raw!r}")
    fields = raw[:-2].split(b"\0")
    sender = fields[0][1:].decode()
    rcpts = []
    for f in fields[1:]:
        if not f.startswith(b"T"):
            raise AssertionError(f"malformed envelope {raw!r}")
        rcpts.append(f[1:].decode())
    return sender, rcpts


class EnvelopeRecording:
    """Mixin for E2ETestCase: a daemon whose queue records envelopes."""

    def start_recording_daemon(self, before=("rcpt_ok",), **kw):
        """A daemon with plugins `before`, then queue/qmail-queue into the recorder."""
        line = f"queue/qmail-queue {FAKE_QQ} env FAKEQQ_DIR={{tmp}}/qq"
        d = self.start_daemon(plugins=[*before, line], wait=False, **kw)
        (d.tmp / "qq").mkdir()
        d.wait_ready()
        return d

    def assertQueued(self, d, count):
        """The `count` deliveries the recorder committed, oldest first."""
        stored = sorted((d.tmp / "qq").iterdir(), key=lambda p: p.name)
        for p in stored:
            self.assertFalse(p.name.startswith(".tmp-"), f"half-stored message left behind: {p}")
        self.assertEqual(len(stored), count, f"{len(stored)} messages queued, expected {count}")
        out = []
        for p in stored:
            sender, rcpts = parse_envelope((p / "envelope").read_bytes())
            out.append(Queued(sender, rcpts, Message(p / "message")))
        return out
