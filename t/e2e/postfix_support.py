"""postfix_support.py - a private Postfix instance (master, smtpd, cleanup, qmgr, discard) on loopback.

The postfix package is never installed (it conflicts with every other MTA): postfix_root() finds
an installed Postfix (/usr/lib/postfix/sbin) or unpacks Debian's .deb with scripts/postfix-tools
into $ASMTPD_POSTFIX_DIR (default /var/tmp/asmtpd-postfix, where scripts/bootstrap --test puts it)
and returns that tree's root; setting $ASMTPD_POSTFIX_DIR uses that tree even when Postfix is
installed. Postfix runs from there as the test's own instance: master -d with
its own config_directory, queue_directory and data_directory in a temporary directory,
daemon_directory/shlib_directory in the unpacked tree, no chroot, inet_interfaces 127.0.0.1 on a
free port, every message accepted for the test domain and then discarded (default_transport and
relay_transport are discard:). master runs in its own session as process-group leader; stop()
sends it SIGTERM by pid (master then terminates its children) and SIGKILLs that process group
if anything is left. Needs root (master refuses to start otherwise). Users: mail_owner is the
existing `postfix` user when there is one, else `nobody` (default_privs then names `daemon`, so
the two differ as Postfix requires); setgid_group is `postdrop` or `mail`: nothing is created.
Owner: tooling (t/e2e/).
"""

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from daemon_process import KEEP, REPO, free_port

CACHE = Path(os.environ.get("ASMTPD_POSTFIX_DIR", "/var/tmp/asmtpd-postfix"))
SBIN = "usr/lib/postfix/sbin"
START_TIMEOUT = 15.0

_root = None      # (root, why-not) once looked up


def postfix_root():
    """(root, None) with root/usr/lib/postfix/sbin/master, or (None, why not). An installed Postfix
    is used as it is unless $ASMTPD_POSTFIX_DIR is set; else the tree scripts/postfix-tools
    unpacks there (scripts/bootstrap --test did it already; otherwise it is done here, once)."""
    global _root
    if _root is not None:
        return _root
    if os.geteuid() != 0:
        _root = (None, f"Postfix's master must run as root, and this test runs as uid {os.geteuid()}")
        return _root
    installed = os.access(f"/{SBIN}/master", os.X_OK) and os.access(f"/{SBIN}/smtpd", os.X_OK)
    if installed and "ASMTPD_POSTFIX_DIR" not in os.environ:
        _root = (Path("/"), None)
        return _root
    _root = _unpacked_tree()
    return _root


def _unpacked_tree():
    """(CACHE/root, None) once Debian's postfix .deb is unpacked there, or (None, why not)."""
    tree = CACHE / "root"
    if not os.access(tree / SBIN / "master", os.X_OK):
        try:
            r = subprocess.run([str(REPO / "scripts" / "postfix-tools"), "--unpack", str(CACHE)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"scripts/postfix-tools --unpack {CACHE} failed: {e}"
        if r.returncode != 0 or not os.access(tree / SBIN / "master", os.X_OK):
            return None, (f"scripts/postfix-tools --unpack {CACHE} could not unpack Debian's postfix .deb "
                          f"(exit {r.returncode}): {r.stderr.decode(errors='replace').strip()}")
    return tree, None


def smtp_sink():
    """(program, env for Popen) of Postfix's smtp-sink: the installed one, else the unpacked tree's
    (a machine with another MTA cannot install postfix), whose libraries are found through
    LD_LIBRARY_PATH. env None: the caller's environment as it is."""
    if os.access("/usr/sbin/smtp-sink", os.X_OK) and "ASMTPD_POSTFIX_DIR" not in os.environ:
        return "/usr/sbin/smtp-sink", None
    tree, why = _unpacked_tree()
    if why:
        raise AssertionError(f"no smtp-sink: not installed, and {why}")
    env = dict(os.environ)
    libs = str(tree / "usr/lib/postfix")
    env["LD_LIBRARY_PATH"] = libs + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return str(tree / "usr/sbin/smtp-sink"), env


def _user(*names):
    for n in names:
        try:
            return pwd.getpwnam(n)
        except KeyError:
            pass
    return None


def _group(*names):
    for n in names:
        try:
            return grp.getgrnam(n)
        except KeyError:
            pass
    return None


# The queue directories master and its daemons expect (post-install's create-missing makes them
# under `postfix start`; master alone does not): name -> (owned by mail_owner, setgid group, mode).
QUEUE_DIRS = {
    "pid": (False, False, 0o755), "public": (True, True, 0o710), "private": (True, False, 0o700),
    "maildrop": (True, True, 0o730), "incoming": (True, False, 0o700), "active": (True, False, 0o700),
    "deferred": (True, False, 0o700), "defer": (True, False, 0o700), "bounce": (True, False, 0o700),
    "hold": (True, False, 0o700), "corrupt": (True, False, 0o700), "saved": (True, False, 0o700),
    "trace": (True, False, 0o700), "flush": (True, False, 0o700),
}

MASTER_CF = """\
{listen} inet  n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
flush     unix  n - n 1000? 0 flush
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """One private Postfix instance accepting mail for `domains` and discarding it.

    main_cf: extra main.cf lines (name -> value) laid over the defaults below."""

    def __init__(self, domains=("example.test", ), main_cf=None, hostname="pf.e2e.test"):
        root, why = postfix_root()
        if root is None:
            raise RuntimeError(why)
        self.root = root
        self.tmp = Path(tempfile.mkdtemp(prefix="asmtpd-postfix-"))
        os.chmod(self.tmp, 0o755)
        self.conf = self.tmp / "conf"
        self.queue = self.tmp / "queue"
        self.data = self.tmp / "data"
        self.log_file = self.tmp / "maillog"
        self.port = free_port()
        self.proc = None
        owner = _user("postfix") or _user("nobody")
        sgid = _group("postdrop", "mail")
        if owner is None or sgid is None:
            raise RuntimeError("no user `postfix` or `nobody`, or no group `postdrop` or `mail`, for Postfix's "
                               "mail_owner/setgid_group")
        self.owner, self.sgid = owner, sgid
        lib = root / "usr/lib/postfix"
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "meta_directory": str(self.conf),
            "daemon_directory": str(root / SBIN),
            "shlib_directory": str(lib),
            "command_directory": str(root / "usr/sbin"),
            "mail_owner": owner.pw_name,
            "setgid_group": sgid.gr_name,
            "default_privs": "nobody" if owner.pw_name != "nobody" else "daemon",
            # master's children get only the environment named here; the unpacked binaries find
            # their libraries through LD_LIBRARY_PATH (their RUNPATH is /usr/lib/postfix).
            "import_environment": f"MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME "
                                  f"LD_LIBRARY_PATH={lib}",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(self.tmp),
            "myhostname": hostname,
            "mydomain": "e2e.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "relay_domains": " ".join(domains),
            "relay_recipient_maps": "",
            "mynetworks": "192.0.2.1/32",          # loopback is not a relay client (as in asmtpd)
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_recipient_restrictions": "",
            "default_transport": "discard:",
            "relay_transport": "discard:",
            "local_transport": "discard:",
            "virtual_transport": "discard:",
            "smtpd_banner": "$myhostname ESMTP",
            "biff": "no",
            "smtpd_error_sleep_time": "0",
            "smtpd_client_event_limit_exceptions": "127.0.0.0/8",
            "disable_dns_lookups": "yes",
            "smtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "alias_maps": "",
            "alias_database": "",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            "html_directory": "no",
        }
        settings.update(main_cf or {})
        self.settings = settings

    # -- setup
    def _write(self):
        self.conf.mkdir(parents=True, exist_ok=True)
        lines = [f"{k} = {v}" for k, v in self.settings.items()]
        (self.conf / "main.cf").write_text("\n".join(lines) + "\n")
        (self.conf / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{self.port}"))
        (self.conf / "dynamicmaps.cf").write_text("")
        for d in (self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        os.chown(self.data, self.owner.pw_uid, -1)
        os.chmod(self.data, 0o700)
        for name, (owned, sgid, mode) in QUEUE_DIRS.items():
            p = self.queue / name
            p.mkdir(exist_ok=True)
            os.chown(p, self.owner.pw_uid if owned else 0, self.sgid.gr_gid if sgid else -1)
            os.chmod(p, mode)

    def env(self):
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "TZ")}
        env["MAIL_CONFIG"] = str(self.conf)
        env["LD_LIBRARY_PATH"] = str(self.root / "usr/lib/postfix")
        # What `postfix start` sets when maillog_file is set: log through postlogd, not syslog.
        env["POSTLOG_SERVICE"] = "postlog"
        env["POSTLOG_HOSTNAME"] = self.settings["myhostname"]
        return env

    def start(self):
        self._write()
        self.stderr = open(self.tmp / "master.stderr", "wb")
        # -d: stay in the foreground (our child, stopped by pid); -c: this instance's config.
        self.proc = subprocess.Popen([str(self.root / SBIN / "master"), "-d", "-c", str(self.conf)],
                                     env=self.env(), stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=subprocess.STDOUT, cwd=str(self.tmp), start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Postfix master exited ({self.proc.returncode}):\n{self.diagnostics()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Postfix did not greet on 127.0.0.1:{self.port} within {START_TIMEOUT}s:\n"
                           f"{self.diagnostics()}")

    def diagnostics(self, lines=40):
        out = []
        for p in (self.tmp / "master.stderr", self.log_file):
            try:
                out += [f"--- {p}"] + p.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                pass
        return "\n".join(out)

    def log_text(self):
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # master leads its own process group (start_new_session): whatever of it is left.
        deadline = time.monotonic() + 2
        while True:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                break            # the group is empty
            if time.monotonic() > deadline or self.proc.poll() is None:
                break
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)
        self.proc = None
        self.stderr.close()

    def cleanup(self):
        if not KEEP:
            shutil.rmtree(self.tmp, ignore_errors=True)
