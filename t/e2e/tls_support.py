"""tls_support.py - helpers for the TLS, AUTH and PROXY protocol end-to-end tests.

A self-signed certificate per test process (openssl req -x509, in a temporary directory),
client SSL contexts that verify it, a raw SMTP client that can switch to TLS in place
(TlsClient), extra listeners next to the harness's own (start_with_listeners), SASL encoders,
and raw_connect (an optional source address). haproxy lives in haproxy_support.py.
Never: edit harness.py's behaviour, signal a process it did not start, touch files outside
its temporary directories. Owner: e2e tests of issue 5 (test_tls, test_auth, test_proxy).
"""

import atexit
import base64
import hashlib
import hmac
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from harness import HOSTNAME, TIMEOUT, Client, Daemon, free_port

_cert_dir = None


def _cleanup_certs():
    if _cert_dir is not None and os.environ.get("ASMTPD_E2E_KEEP") != "1":
        shutil.rmtree(_cert_dir, ignore_errors=True)


atexit.register(_cleanup_certs)


class Cert:
    def __init__(self, cert, key, combined):
        self.cert = str(cert)          # certificate only
        self.key = str(key)            # private key only
        self.combined = str(combined)  # certificate followed by the key (one PEM file)


def make_cert(name="server", cn=HOSTNAME, key_type="ec"):
    """A fresh self-signed certificate for cn (CN and subjectAltName), made with the openssl
    command line into this process's temporary certificate directory."""
    global _cert_dir
    if _cert_dir is None:
        _cert_dir = Path(tempfile.mkdtemp(prefix="asmtpd-e2e-certs-"))
    cert = _cert_dir / f"{name}.crt"
    key = _cert_dir / f"{name}.key"
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec" \
        else ["-newkey", "rsa:2048"]
    p = subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-days", "2",
                        "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn},IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise AssertionError("openssl req failed: " + p.stderr.decode(errors="replace"))
    combined = _cert_dir / f"{name}.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    os.chmod(key, 0o600)
    return Cert(cert, key, combined)


_default_cert = None


def server_cert():
    """The process's shared certificate (made on first use)."""
    global _default_cert
    if _default_cert is None:
        _default_cert = make_cert()
    return _default_cert


def tls_settings(cert=None, **extra):
    cert = cert or server_cert()
    t = {"cert": cert.cert, "key": cert.key}
    t.update(extra)
    return {"tls": t}


def client_context(cert=None, verify=True, max_version=None, min_version=None):
    """An SSLContext trusting exactly our certificate (hostname HOSTNAME checked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations((cert or server_cert()).cert)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version is not None:
        ctx.minimum_version = min_version
    return ctx


class TlsClient(Client):
    """harness.Client whose socket can be wrapped in TLS in the middle of the session."""

    @classmethod
    def connect(cls, port, timeout=TIMEOUT, greet=True, source=None, host="127.0.0.1"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        return cls.from_socket(s, port, timeout=timeout, greet=greet)

    def handshake(self, ctx=None, allow_pending=False):
        """Wraps the socket now. Unread plaintext bytes would be a server bug (it answered
        something we did not ask before TLS), so they fail the test unless allow_pending."""
        if self.buf and not allow_pending:
            self.fail(f"plaintext bytes pending before the TLS handshake: {self.buf!r}")
        ctx = ctx or client_context()
        self.sock.settimeout(self.timeout)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.transcript.append(f"-- TLS {self.sock.version()} {self.sock.cipher()[0]}")
        return self.sock

    def starttls(self, ctx=None):
        r = self.cmd("STARTTLS", 220)
        self.handshake(ctx)
        return r

    @property
    def tls_version(self):
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) else None

    @property
    def tls_cipher(self):
        return self.sock.cipher()[0] if isinstance(self.sock, ssl.SSLSocket) else None


def smtps_connect(port, ctx=None, timeout=TIMEOUT, greet=True):
    """TLS from the first byte (an smtps listener); returns a TlsClient after the greeting."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s = (ctx or client_context()).wrap_socket(raw, server_hostname=HOSTNAME)
    return TlsClient.from_socket(s, port, timeout=timeout, greet=greet)


class BioTls:
    """A TLS client over a plain socket through memory BIOs, so that bytes of our own choice
    can share one write with the ClientHello (a PROXY header, injected plaintext)."""

    def __init__(self, sock, ctx=None):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = (ctx or client_context()).wrap_bio(self.inc, self.out, server_hostname=HOSTNAME)

    def _pump_in(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection during TLS")
        self.inc.write(data)

    def handshake(self, prefix=b""):
        """Sends prefix + ClientHello in one sendall(), then completes the handshake."""
        first = True
        while True:
            try:
                self.obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            pending = self.out.read()
            if first:
                pending = prefix + pending
                first = False
            if pending:
                self.sock.sendall(pending)
            if done:
                return self
            self._pump_in()

    def send(self, data):
        self.obj.write(data)
        self.sock.sendall(self.out.read())

    def read_reply(self, timeout=TIMEOUT):
        """Bytes up to and including the last line of one SMTP reply."""
        deadline = time.monotonic() + timeout
        buf = b""
        while True:
            try:
                buf += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                self._pump_in()
                continue
            lines = buf.split(b"\r\n")
            if len(lines) > 1 and any(len(l) >= 4 and l[3:4] == b" " for l in lines[:-1]):
                return buf

    @property
    def version(self):
        return self.obj.version()


def ehlo_keywords(reply):
    return [line.split()[0].upper() for line in reply.lines[1:] if line.strip()]


def ehlo_line(reply, keyword):
    for line in reply.lines[1:]:
        if line.split() and line.split()[0].upper() == keyword.upper():
            return line
    return None


# ---------------------------------------------------------------- daemons with more listeners

def _distinct_ports(n, taken):
    out = []
    while len(out) < n:
        p = free_port()
        if p not in taken and p not in out:
            out.append(p)
    return out


def start_with_listeners(test, extra, plugins=None, files=None, settings=None, prepare=None,
                         check_exit=True, wait=True):
    """Like E2ETestCase.start_daemon, but the harness's plain listener (d.port, used for the
    readiness probe) gets company: extra is a list of listen entries without a port (e.g.
    {"mode": "smtps"}); each gets a free port. Returns (daemon, [ports in extra's order]).
    prepare(d) runs after the config is written and before the start."""
    d = Daemon(plugins=plugins, files=files, settings=settings)
    test._daemons.append(d)
    test.addCleanup(test._finish, d, check_exit)
    ports = _distinct_ports(len(extra), {d.port})
    listen = [dict(d.settings["listen"][0])]
    for spec, port in zip(extra, ports):
        entry = {"address": "127.0.0.1", "port": port}
        entry.update(spec)
        listen.append(entry)
    d.settings["listen"] = listen
    d.write_config()
    if prepare:
        prepare(d)
    d.start(wait=wait)
    return d, ports


def start_prepared(test, prepare, plugins=None, files=None, settings=None, check_exit=True):
    """start_daemon with a hook that may add files (in sub-directories) before the start."""
    d, _ = start_with_listeners(test, [], plugins=plugins, files=files, settings=settings,
                                prepare=prepare, check_exit=check_exit)
    return d


# ---------------------------------------------------------------- SASL

def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain_response(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}")


def cram_md5_response(challenge_b64, user, secret):
    challenge = base64.b64decode(challenge_b64)
    digest = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest()
    return b64(f"{user} {digest}"), challenge


def crypt_hash(password):
    """A sha512-crypt hash: Python's crypt module when present, else `openssl passwd -6`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # noqa: PLC0415 (deprecated, gone in 3.13)
        h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
        if h and h.startswith("$6$"):
            return h
    except ImportError:
        pass
    p = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password.encode(),
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("openssl passwd failed: " + p.stderr.decode(errors="replace"))
    return p.stdout.decode().strip()


# ---------------------------------------------------------------- swaks

def swaks(*args, timeout=60, env=None):
    """Runs swaks; returns (exit code, combined output as text)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["swaks", *args], capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, env=e)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def raw_connect(port, source=None, timeout=TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s
