"""smtp_client.py - a raw-socket SMTP client for the end-to-end tests.

Client sends bytes and reads complete (multi-line) replies as Reply values, with a timeout on
every read (TIMEOUT, $ASMTPD_E2E_TIMEOUT, per reply) and a transcript for failure messages.
dot_stuff() applies RFC 5321 transparency to a body. Talks only to 127.0.0.1.
Owner: tooling (t/e2e/).
"""

import os
import re
import socket
import threading
import time

TIMEOUT = float(os.environ.get("ASMTPD_E2E_TIMEOUT", "5"))    # one reply


class Reply:
    RX_ESC = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines    # text after "250-" / "250 " of each line
        self.raw = raw        # the bytes as received

    @property
    def esc(self):
        """The enhanced status code of the first line ("2.1.0"), or None."""
        word = self.lines[0].split(" ", 1)[0] if self.lines and self.lines[0] else ""
        return word if self.RX_ESC.match(word) else None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return f"Reply({self.raw!r})"


class ConnectionClosed(AssertionError):
    pass


class Client:
    """A raw SMTP client: send bytes, read complete (multi-line) replies, keep a transcript."""

    def __init__(self, port, timeout=TIMEOUT, greet=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._init(s, port, timeout)
        self.greeting = self.expect(220) if greet else None

    @classmethod
    def from_socket(cls, sock, port, timeout=TIMEOUT, greet=False):
        c = cls.__new__(cls)
        c._init(sock, port, timeout)
        c.greeting = c.expect(220) if greet else None
        return c

    def _init(self, sock, port, timeout):
        self.sock = sock
        self.port = port
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        self.transcript = []
        sock.settimeout(timeout)

    # -- transcript
    def _note(self, who, data):
        if len(data) > 300:
            data = data[:200] + b"...(%d bytes)..." % len(data) + data[-60:]
        self.transcript.append(f"{who}: {data!r}")

    def dump(self):
        return "---- transcript ----\n" + "\n".join(self.transcript[-60:]) + "\n----"

    def fail(self, msg):
        raise AssertionError(f"{msg}\n{self.dump()}")

    # -- sending
    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._note("C", data)
        self.sock.sendall(data)

    def send_in_thread(self, data):
        """sendall() on a thread, for payloads bigger than the socket buffers. Returns the
        thread; its .error is the OSError the send ended with, if any (server closed early)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._note("C", data)
        t = threading.Thread(target=self._send_bg, args=(data, ), daemon=True)
        t.error = None
        t.start()
        return t

    def _send_bg(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            threading.current_thread().error = e

    # -- receiving
    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self.buf:
            try:
                if not self._fill(deadline):
                    raise ConnectionClosed(f"connection closed (pending {self.buf!r})\n{self.dump()}")
            except socket.timeout:
                raise AssertionError(f"timed out waiting for a reply line (pending {self.buf!r})\n"
                                     + self.dump()) from None
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_reply(self, timeout=None):
        """One complete reply: "250-..." lines up to the "250 ..." one."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        raw = b""
        lines = []
        code = None
        while True:
            line = self.read_line(timeout=max(0.0, deadline - time.monotonic()))
            raw += line
            if not line.endswith(b"\r\n"):
                self._note("S", raw)
                self.fail(f"reply line not ended by CRLF: {line!r}")
            text = line[:-2].decode("utf-8", errors="replace")
            m = re.match(r"^(\d{3})([ -]?)(.*)$", text)
            if not m or (code is not None and int(m.group(1)) != code):
                self._note("S", raw)
                self.fail(f"malformed reply line {line!r}")
            code = int(m.group(1))
            lines.append(m.group(3))
            if m.group(2) != "-":
                self._note("S", raw)
                return Reply(code, lines, raw)

    def expect(self, code, esc=None, timeout=None):
        """Reads a reply; asserts its code (int, or tuple of accepted codes) and esc."""
        r = self.read_reply(timeout)
        codes = code if isinstance(code, (tuple, list, set)) else (code, )
        if r.code not in codes:
            self.fail(f"expected {code}, got {r.raw!r}")
        if esc is not None and r.esc != esc:
            self.fail(f"expected enhanced status {esc}, got {r.raw!r}")
        return r

    def cmd(self, line, code=None, esc=None, timeout=None):
        """Sends one command line (CRLF added) and reads its reply."""
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        if code is None:
            return self.read_reply(timeout)
        return self.expect(code, esc, timeout)

    def wait_closed(self, timeout=TIMEOUT):
        """True when the server closes the connection within timeout. Bytes that arrive
        meanwhile stay in the buffer (see pending())."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def pending(self):
        return self.buf

    def drain(self, timeout):
        """Reads whatever arrives within timeout (without waiting for a full reply) and
        returns all unread bytes."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except (socket.timeout, OSError):
            pass
        return self.buf

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- conveniences
    def ehlo(self, name="client.e2e.test"):
        return self.cmd(f"EHLO {name}", 250)

    def send_mail(self, sender="s@example.test", rcpts=("a@example.test", ), body=b"Subject: t\r\n\r\nhi\r\n",
                  mail_params=""):
        """MAIL, RCPT..., DATA, body (CRLF-terminated, already dot-stuffed), final dot.
        Returns the reply to the final dot."""
        self.cmd(f"MAIL FROM:<{sender}>" + (" " + mail_params if mail_params else ""), 250)
        for r in rcpts:
            self.cmd(f"RCPT TO:<{r}>", 250)
        self.cmd("DATA", 354)
        self.send(body + b".\r\n")
        return self.read_reply()


def dot_stuff(body: bytes) -> bytes:
    """RFC 5321 §4.5.2 transparency: a line starting with '.' gets one more."""
    out = []
    for line in body.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)
