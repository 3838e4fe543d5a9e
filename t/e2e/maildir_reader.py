"""maildir_reader.py - read what queue/maildir delivered.

Maildir lists the files of new/ (and tmp/); Message splits one delivered file into its trace
fields, our Received field and the content after it, and knows the file's line-end convention.
Read-only. Owner: tooling (t/e2e/).
"""

import re
from pathlib import Path


TRACE_FIELDS = ("return-path", "delivered-to", "x-original-to", "x-envelope-from", "x-envelope-to")


def _delivery_order(p):
    """Oldest first: "<sec>.M<usec>P<pid>Q<n>.host" by its numbers (usec is not zero-padded, so
    the names do not sort as text), then the name."""
    m = re.match(r"(\d+)\.M(\d+)P(\d+)Q(\d+)", p.name)
    return (int(m.group(1)), int(m.group(2)), int(m.group(4)), p.name) if m else (0, 0, 0, p.name)


class Message:
    """One delivered file: trace fields, our Received field, and the content after it."""

    def __init__(self, path):
        self.path = Path(path)
        self.raw = self.path.read_bytes()
        self.trace = []        # [(name, value)] before (and including) our Received
        self.received = None   # the unfolded text of the first Received field
        self.content = self.raw
        pos = 0
        raw = self.raw
        while pos < len(raw):
            end = self._field_end(raw, pos)
            field = raw[pos:end]
            name = field.split(b":", 1)[0].decode("latin-1").strip().lower()
            value = field.split(b":", 1)[1].decode("utf-8", "replace") if b":" in field else ""
            value = re.sub(r"\s+", " ", value).strip()
            if name == "received":
                self.received = "Received: " + value
                self.trace.append(("Received", value))
                self.content = raw[end:]
                break
            if name in TRACE_FIELDS:
                self.trace.append((name, value))
                pos = end
                continue
            break   # not a trace field and no Received: content starts here
        self.crlf = self._crlf_convention()

    @staticmethod
    def _field_end(raw, pos):
        """End of the header field starting at pos (continuation lines start with SP/HT)."""
        end = pos
        while True:
            nl = raw.find(b"\n", end)
            if nl < 0:
                return len(raw)
            end = nl + 1
            if end >= len(raw) or raw[end:end + 1] not in (b" ", b"\t"):
                return end

    def _crlf_convention(self):
        head = self.raw[:self.raw.find(b"\n") + 1] if b"\n" in self.raw else b""
        return head.endswith(b"\r\n") or not head

    def stored_form(self, content: bytes) -> bytes:
        """content (CRLF line ends, as sent, unstuffed) in this file's line-end convention."""
        return content if self.crlf else content.replace(b"\r\n", b"\n")

    def fields(self, name):
        return [v for n, v in self.trace if n.lower() == name.lower()]


class Maildir:
    def __init__(self, path):
        self.path = Path(path)

    def new_files(self):
        d = self.path / "new"
        return sorted((p for p in d.iterdir() if p.is_file()), key=_delivery_order) if d.is_dir() else []

    def tmp_files(self):
        d = self.path / "tmp"
        return [p for p in d.iterdir() if p.is_file()] if d.is_dir() else []

    def messages(self):
        return [Message(p) for p in self.new_files()]

    def count(self):
        return len(self.new_files())
