"""dovecot_support.py - a real Dovecot for the end-to-end tests: LMTP for queue/lmtp, and (with
passwords=) its auth socket and IMAP for auth/dovecot and auth/imap.

Dovecot (Debian's dovecot-core + dovecot-lmtpd, dovecot-imapd for IMAP) runs in the foreground
(`dovecot -F -c`) from a config written into a temporary directory: LMTP on 127.0.0.1:<free port>
and on a Unix socket in that directory; with passwords, also the auth client socket
(auth_socket, what Postfix's smtpd_sasl_path points at) and IMAP on 127.0.0.1:<imap_port>, with
auth_failure_delay 0 so a wrong password is answered at once. passwd-file users, maildir under
the directory, every run/state/log path inside it. Nothing in /etc/dovecot is read and no system
service is touched. stop() and start() again reuse the same ports and sockets (an outage).
Runs as root or as any other user: Dovecot itself refuses mail access as uid 0, so under root
the mail files belong to nobody:nogroup (the mail directory is handed to them); otherwise to the
current user. Stopped by its pid (SIGTERM, SIGKILL after 10 s).
Never: signal a process it did not start, touch files outside its temporary directory.
Owner: queue backends (issue 4: test_lmtp_dovecot).
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
LMTP_BINARY = "/usr/lib/dovecot/lmtp"
IMAP_BINARY = "/usr/lib/dovecot/imap-login"
DOMAIN = "example.test"
KEEP = os.environ.get("ASMTPD_E2E_KEEP") == "1"


def unavailable(imap=False):
    """None when a Dovecot with LMTP (and IMAP) is installed, else why not (the tests skip with it)."""
    if not os.access(DOVECOT, os.X_OK):
        return "dovecot is not installed (apt-get install dovecot-core dovecot-lmtpd; scripts/bootstrap does)"
    if not os.access(LMTP_BINARY, os.X_OK):
        return "dovecot's LMTP service is not installed (apt-get install dovecot-lmtpd)"
    if imap and not os.access(IMAP_BINARY, os.X_OK):
        return "dovecot's IMAP service is not installed (apt-get install dovecot-imapd)"
    return None


def _mail_owner():
    """(uid, gid, user, group) the delivered mail belongs to."""
    if os.geteuid() == 0:
        # Dovecot's restrict_access refuses mail processes with uid 0 ("Mail access not
        # allowed for root"), whatever first_valid_uid says.
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid, pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name
    uid, gid = os.geteuid(), os.getegid()
    return uid, gid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name


def _arrival(path):
    """Sort key of a maildir file name "<seconds>.M<microseconds>P<pid>.<host>,S=..." (the
    microseconds are not zero-padded, so the name alone does not sort)."""
    m = re.match(r"^(\d+)\.M(\d+)P(\d+)", path.name)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


class Dovecot:
    """One Dovecot instance serving LMTP.

    users: local parts of the known recipients (<name>@example.test). quota_full: users whose
    quota is already exhausted, so Dovecot refuses their copy after the final dot (552 5.2.2)
    while it saves the others': the per-recipient answer only LMTP has.
    passwords: {local part: password} of users who can log in (their user name is
    <name>@example.test); given, the auth socket and IMAP are served too. tls_cert: (certificate,
    key) files; given with passwords, imaps is served on imaps_port too."""

    def __init__(self, users=("alice", "bob", "carol"), quota_full=(), port=None, passwords=None, tls_cert=None):
        self.dir = Path(tempfile.mkdtemp(prefix="asmtpd-dovecot-"))
        os.chmod(self.dir, 0o755)        # the mail owner (nobody under root) must get to mail/
        self.port = port or free_port()
        self.socket_path = str(self.dir / "lmtp.sock")
        self.mail_dir = self.dir / "mail"
        self.log_path = self.dir / "dovecot.log"
        self.conf_path = self.dir / "dovecot.conf"
        self.users = list(users) + list(quota_full)
        self.passwords = dict(passwords or {})
        self.auth_socket = str(self.dir / "auth-client") if self.passwords else None
        self.imap_port = free_port() if self.passwords else None
        self.tls_cert = tls_cert if self.passwords else None
        self.imaps_port = free_port() if self.tls_cert else None
        self.proc = None
        uid, gid, user, group = _mail_owner()
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        os.chown(self.mail_dir, uid, gid)
        with open(self.dir / "passwd", "w") as f:
            for name in users:
                if name not in self.passwords:
                    f.write(f"{name}@{DOMAIN}:{{PLAIN}}unused::::::\n")
            for name, password in self.passwords.items():
                f.write(f"{name}@{DOMAIN}:{{PLAIN}}{password}::::::\n")
            for name in quota_full:
                f.write(f"{name}@{DOMAIN}:{{PLAIN}}unused::::::userdb_quota_rule=*:storage=10B\n")
        me = pwd.getpwuid(os.geteuid()).pw_name
        my_group = grp.getgrgid(os.getegid()).gr_name
        self.conf_path.write_text(f"""\
# Written by t/e2e/dovecot_support.py for one test; nothing outside {self.dir} is used.
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = asmtpd-e2e-{self.port}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
protocols = lmtp{" imap" if self.passwords else ""}
listen = 127.0.0.1
ssl = no
default_internal_user = {me}
default_internal_group = {my_group}
default_login_user = {user if os.geteuid() == 0 else me}
mail_uid = {user}
mail_gid = {group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:{self.mail_dir}/%n
mail_plugins = quota
plugin {{
  quota = maildir:User quota
}}
passdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/passwd
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
  unix_listener {self.socket_path} {{
    mode = 0666
  }}
}}
# chroot needs root; the default for anvil would stop a non-root master.
service anvil {{
  chroot =
}}
""" + (self._auth_conf() if self.passwords else ""))
        self.start()

    def _auth_conf(self):
        """The auth client socket (as Postfix's smtpd_sasl_path uses it) and IMAP on loopback."""
        return f"""\
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = no
# Dovecot's per-IP penalty (anvil; 2, 4, 8... s after each failure from one IP) would make every
# wrong-password test wait for the earlier ones: the auth process cannot reach anvil's socket.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  user = {"nobody" if os.geteuid() == 0 else me}
  unix_listener {self.auth_socket} {{
    mode = 0666
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port or 0}
  }}
}}
""" + (f"""\
ssl = yes
ssl_cert = <{self.tls_cert[0]}
ssl_key = <{self.tls_cert[1]}
""" if self.tls_cert else "")

    # ------------------------------------------------------------------ process

    def start(self, timeout=20.0):
        self._out = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf_path)], stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._out, cwd=str(self.dir))
        deadline = time.monotonic() + timeout
        pending = [("tcp", self.port), ("unix", self.socket_path)]
        if self.passwords:
            pending += [("tcp", self.imap_port, b"* OK"), ("unix", self.auth_socket, b"VERSION\t1\t")]
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError(f"dovecot exited with {self.proc.returncode} during start-up\n" + self.log())
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"dovecot did not greet on {pending}\n" + self.log())
            if self._greets(*pending[0]):
                pending.pop(0)
            else:
                time.sleep(0.05)

    def _greets(self, kind, where, greeting=b"220 "):
        try:
            if kind == "tcp":
                s = socket.create_connection(("127.0.0.1", where), timeout=2)
            else:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(2)
                s.connect(where)
        except OSError:
            return False
        try:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            if greeting == b"220 ":
                s.sendall(b"QUIT\r\n")
            return data.startswith(greeting)
        except OSError:
            return False
        finally:
            s.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM to the master (it stops its children), SIGKILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None and not self._out.closed:
            self._out.close()

    def cleanup(self):
        self.stop()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ results

    @property
    def tcp_hop(self):
        return f"127.0.0.1:{self.port}"

    def auth_server_pid(self):
        """The pid of Dovecot's auth process (SPID of the auth socket's handshake): a child of
        the master this instance started."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.auth_socket)
        try:
            data = b""
            while b"\nDONE\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        for line in data.decode().splitlines():
            if line.startswith("SPID\t"):
                return int(line.split("\t")[1])
        raise AssertionError(f"no SPID in the auth handshake {data!r}")

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def delivered(self, user):
        """Files in <user>'s INBOX (new/ and cur/), oldest name first, as bytes."""
        out = []
        for sub in ("new", "cur"):
            d = self.mail_dir / user / sub
            if d.is_dir():
                out.extend(p for p in d.iterdir() if p.is_file())
        return [p.read_bytes() for p in sorted(out, key=_arrival)]

    def total(self):
        return sum(len(self.delivered(u)) for u in self.users)


def split_delivered(raw):
    """A message as Dovecot stored it -> ([(name, value)] of the header fields Dovecot put in
    front of ours (up to and including its own Received), the rest). Dovecot stores LF line
    ends; values are unfolded."""
    fields = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos) + 1 or len(raw)
        while end < len(raw) and raw[end:end + 1] in (b" ", b"\t"):
            end = raw.find(b"\n", end) + 1 or len(raw)
        field = raw[pos:end].decode("utf-8", "replace")
        name, _, value = field.partition(":")
        fields.append((name.strip(), " ".join(value.split())))
        pos = end
        if name.strip().lower() == "received":
            break
        if name.strip().lower() not in ("return-path", "delivered-to"):
            raise AssertionError(f"unexpected field {name!r} before Dovecot's Received in {raw[:300]!r}")
    return fields, raw[pos:]
