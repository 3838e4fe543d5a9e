"""opendkim_support.py - Debian's opendkim milter as a second, independent DKIM implementation
for the tests: it verifies what asmtpd signs, and signs what asmtpd's verifier must pass.

OpenDkim(dir, mode, dns_port, ...) writes a private opendkim.conf (Mode s or v, a loopback
milter socket, no syslog, no pid file, no user switch) and an unbound configuration that
forwards every query to the test DNS server on 127.0.0.1 (t/e2e/dns_support.py): opendkim is
built with libunbound, whose ResolverConfiguration file replaces /etc/resolv.conf, so no query
leaves the machine, and without a trust anchor nothing is DNSSEC-validated. It runs opendkim
in the foreground (-f) as a child of the test and stops it by pid.

MilterClient.message(...) plays the MTA side of the milter protocol (version 6: option
negotiation, connect, HELO, MAIL, RCPT, DATA, headers, end of headers, body, end of message)
and returns the header changes the milter asked for (added or inserted headers), so a test
reads opendkim's DKIM-Signature (sign mode) or its Authentication-Results (verify mode).
Owner: e2e tests of issue 12 (DKIM signing).
"""

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from daemon_process import free_port

OPENDKIM = "/usr/sbin/opendkim"
START_TIMEOUT = 10.0
IO_TIMEOUT = 20.0

# Milter protocol version 6 (libmilter's mfdef.h).
VERSION = 6
ALL_ACTIONS = 0x1FF          # add/change headers and body, recipients, quarantine, from, symlist
ALL_PROTOCOL = 0x1FFFFF      # every "no such step" and "no reply" flag offered to the milter
NR_FLAGS = {b"C": 0x1000, b"H": 0x2000, b"M": 0x4000, b"R": 0x8000, b"T": 0x10000,
            b"L": 0x80, b"N": 0x40000, b"B": 0x80000}
SKIP_FLAGS = {b"C": 0x1, b"H": 0x2, b"M": 0x4, b"R": 0x8, b"B": 0x10, b"L": 0x20, b"N": 0x40,
              b"T": 0x200}
HDR_LEADSPC = 0x100000


class OpenDkim:
    """One opendkim milter on 127.0.0.1. mode "s": signs mail from 127.0.0.1 for `domain`
    with `key_file`/`selector` (algorithm by the key: "rsa-sha256" or "ed25519-sha256");
    mode "v": verifies (its Authentication-Results carries the verdicts)."""

    def __init__(self, dns_port, mode="v", domain=None, selector=None, key_file=None, algorithm="rsa-sha256"):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-opendkim-"))
        self.port = free_port()
        self.proc = None
        (self.dir / "unbound.conf").write_text(
            "server:\n"
            "    do-not-query-localhost: no\n"
            '    module-config: "iterator"\n'
            "    use-syslog: no\n"
            "    verbosity: 0\n"
            f'    directory: "{self.dir}"\n'
            '    chroot: ""\n'
            '    username: ""\n'
            '    pidfile: ""\n'
            "forward-zone:\n"
            '    name: "."\n'
            f"    forward-addr: 127.0.0.1@{dns_port}\n")
        conf = [f"Socket inet:{self.port}@127.0.0.1", f"Mode {mode}", "Syslog no",
                f"ResolverConfiguration {self.dir / 'unbound.conf'}", "AuthservID opendkim.test",
                "AlwaysAddARHeader yes", "Canonicalization relaxed/relaxed", "MinimumKeyBits 1024",
                "SoftwareHeader no", "RequireSafeKeys no", "InternalHosts 127.0.0.1"]
        if mode == "s":
            conf += [f"Domain {domain}", f"Selector {selector}", f"KeyFile {key_file}",
                     f"SignatureAlgorithm {algorithm}", "OversignHeaders From"]
        (self.dir / "opendkim.conf").write_text("\n".join(conf) + "\n")

    def start(self):
        self._log = open(self.dir / "opendkim.log", "wb")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", str(self.dir / "opendkim.conf")],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"opendkim exited with {self.proc.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"opendkim did not listen on {self.port}:\n{self.log()}")
                time.sleep(0.05)

    def log(self):
        try:
            return (self.dir / "opendkim.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc:
            self._log.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        for p in sorted(self.dir.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        self.dir.rmdir()

    def client(self):
        return MilterClient(self.port)


def split_message(raw):
    """(headers [(name, value)], body) of a CRLF message; a folded value keeps its line breaks
    as LF, as MTAs hand them to milters."""
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return headers, body


class MilterClient:
    """The MTA side of one milter connection (protocol version 6)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.buf = b""
        self.send(b"O", struct.pack("!III", VERSION, ALL_ACTIONS, ALL_PROTOCOL))
        cmd, data = self.read()
        assert cmd == b"O", f"option negotiation answered {cmd!r}"
        _, self.actions, self.protocol = struct.unpack("!III", data[:12])

    def close(self):
        try:
            self.send(b"Q", b"")
        except OSError:
            pass
        self.sock.close()

    def send(self, cmd, data):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def read(self):
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    packet, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return packet[:1], packet[1:]
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("milter closed the connection")
            self.buf += chunk

    def step(self, cmd, data):
        """Sends one command; returns the milter's answer, or None when it was told not to."""
        if self.protocol & SKIP_FLAGS.get(cmd, 0):
            return None
        self.send(cmd, data)
        if self.protocol & NR_FLAGS.get(cmd, 0):
            return None
        answer, _ = self.read()
        return answer

    def message(self, raw, client_ip="127.0.0.1", sender="joe@example.net", rcpt="suzie@example.org"):
        """Runs one message through; returns (final action, [(name, value) headers it added])."""
        self.step(b"C", b"client.test\0" + b"4" + struct.pack("!H", 40000) + client_ip.encode() + b"\0")
        self.step(b"H", b"client.test\0")
        self.send(b"D", b"M" + b"i\0" + b"TESTQUEUEID\0")
        self.step(b"M", f"<{sender}>\0".encode())
        self.step(b"R", f"<{rcpt}>\0".encode())
        self.step(b"T", b"")
        headers, body = split_message(raw)
        for name, value in headers:
            if not self.protocol & HDR_LEADSPC and value[:1] == b" ":
                value = value[1:]
            self.step(b"L", name + b"\0" + value + b"\0")
        self.step(b"N", b"")
        for at in range(0, len(body), 65535):
            if self.step(b"B", body[at:at + 65535]) == b"s":
                break
        self.send(b"E", b"")
        added = []
        while True:
            cmd, data = self.read()
            if cmd in (b"h", b"i"):
                if cmd == b"i":
                    data = data[4:]
                name, value, _ = data.split(b"\0", 2)
                added.append((name.decode(), value.decode()))
            elif cmd in (b"a", b"c", b"r", b"t", b"d", b"y"):
                return cmd, added
            # progress ('p') and other changes are not expected; ignore them


def header_text(name, value):
    """An added header as it would be written into the message, folding as CRLF."""
    return (name + ":" + ("" if value[:1] in (" ", "\t") else " ") + value.replace("\r\n", "\n")
            .replace("\n", "\r\n")).encode() + b"\r\n"
