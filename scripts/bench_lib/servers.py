# servers.py - the servers under test: asmtpd and its peers, configured for loopback only.
#
# Each server writes its own config under the bench work dir, is started with Popen (its pid is
# the one we record), is ready once its port answers with a 220 banner, and is stopped by that
# pid; only descendants recorded while it ran (pid + start time checked) are killed after it.
# It must never signal a process it did not start, nor listen anywhere but 127.0.0.1.
# Owner: tooling (scripts/bench_lib/).
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import bench_dns
import procs

HARAKA_PLUGIN = """// benchmark-peer plugin: rDNS without a lookup, accept every RCPT, sink every message
exports.register = function () {
    this.register_hook('lookup_rdns', 'fake_rdns')
    this.register_hook('rcpt', 'accept_rcpt')
    this.register_hook('queue', 'sink')
    this.register_hook('queue_outbound', 'sink')
}
exports.fake_rdns = (next) => next(OK, 'localhost')
exports.accept_rcpt = (next) => next(OK)
exports.sink = (next) => next(OK, 'Message sunk')
"""

QPSMTPD_NORDNS = """package NoRDNS;
# qpsmtpd 0.94's forkserver parses -H but never passes it on: without this every connection
# sends a PTR query off the machine. Preloaded with -MNoRDNS; same result as tcpenv(..., 1).
use strict;
use warnings;
require Qpsmtpd::TcpServer;
no warnings 'redefine';
*Qpsmtpd::TcpServer::tcpenv = sub {
    my ($laddr, $iaddr) = @_;
    return ($laddr, $iaddr, $iaddr ? "[$iaddr]" : "[noip!]");
};
1;
"""

RCPT_DOMAIN = "bench.test"


# asmtpd refuses to start as root unless asmtpd.yaml names its user: the bench keeps root, as
# it always ran (docs/OPERATIONS.md).
RUN_AS_YAML = "user: root\n" if os.geteuid() == 0 else ""


def _write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def _start_time(pid):
    f = procs._stat_fields(pid)
    return None if f is None else f[19]   # starttime, field 22 of stat


def banner_ok(port, timeout=2.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            if not data.startswith(b"220"):
                return False
            s.sendall(b"QUIT\r\n")
            try:
                s.recv(512)
            except OSError:
                pass
            return True
    except OSError:
        return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Server:
    name = "?"
    use_pss = False          # several processes share pages: sum PSS, not RSS
    stop_signal = signal.SIGTERM
    msg_scale = 1.0          # fraction of each message load this (slow) server gets
    idle_cap = None          # most idle connections this server is asked to hold
    min_procs = 1            # ready only once this many processes exist
    only_loads = None        # the loads this server takes part in (None: all)

    def __init__(self, work, port):
        self.work, self.port = work, port
        self.proc = None
        self.seen = {}       # pid -> start time, every descendant seen while running
        self.log_path = None

    # --- to override
    def prepare(self):
        pass

    def argv(self):
        raise NotImplementedError

    def env(self):
        return dict(os.environ)

    def cwd(self):
        return self.work

    def note(self):
        return ""

    def ready(self):
        """The server answers: a 220 banner on its port."""
        return banner_ok(self.port)

    # --- common
    def start(self, log_path, ready_timeout=60):
        if not port_free(self.port):
            raise RuntimeError(f"{self.name}: port 127.0.0.1:{self.port} is in use")
        self.log_path = log_path
        log = open(log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), cwd=self.cwd(), env=self.env(), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start-up:\n" + self.log_tail())
            if self.ready() and len(self.pids()) >= self.min_procs:
                time.sleep(0.3)
                self.pids()
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name}: no banner on port {self.port} within {ready_timeout}s:\n" + self.log_tail())

    @property
    def pid(self):
        return self.proc.pid

    def pids(self):
        """The live process tree; remembers every descendant for stop()."""
        t = procs.tree(self.proc.pid)
        for p in t:
            if p not in self.seen:
                st = _start_time(p)
                if st is not None:
                    self.seen[p] = st
        return t

    def stop(self, timeout=20):
        if self.proc is None:
            return
        self.pids()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"bench: {self.name} (pid {self.proc.pid}) ignored {self.stop_signal.name} for {timeout}s; "
                      "SIGKILL", file=sys.stderr, flush=True)
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # leftovers we saw (cluster workers, forked children): same pid AND same start time only
        time.sleep(0.2)
        for p, st in self.seen.items():
            if p != self.proc.pid and _start_time(p) == st:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None
        self.seen = {}

    def log_tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Asmtpd(Server):
    def __init__(self, work, port, binary, workers=1, spp=False, name=None, queue="queue/discard", tls=None):
        super().__init__(work, port)
        self.binary, self.workers, self.spp = binary, workers, spp
        self.queue, self.tls = queue, tls     # tls: (cert, key) paths or None
        self.name = name or ("asmtpd" if workers == 1 else f"asmtpd-{workers}w")
        self.cfg = os.path.join(work, "cfg", self.name + ("-spp" if spp else ""))
        if workers > 1:
            self.only_loads = ("b", "c", "e")   # the scaling question is about throughput
            self.use_pss = True       # a supervisor and pre-forked worker processes
            self.min_procs = workers + 1
        if spp:
            self.msg_scale = 0.1      # bounded by fork+exec per RCPT (see the raw uv_spawn row)

    def prepare(self):
        c = self.cfg
        os.makedirs(os.path.join(c, "spool"), exist_ok=True)
        _write(os.path.join(c, "asmtpd.yaml"), f"""# written by scripts/bench
hostname: bench.localhost
listen:
  - address: 127.0.0.1
    port: {self.port}
    mode: smtp
spool_dir: {c}/spool
workers: {self.workers}
log_level: warn
limits:
  max_connections: 20000
  max_connections_per_ip: 20000   # every benchmark client is 127.0.0.1
dns:
  servers: ["{bench_dns.server(self.work).address}"]   # bench_dns.py: never the machine's resolver
""" + RUN_AS_YAML + ("" if not self.tls else f"""tls:
  cert: {self.tls[0]}
  key: {self.tls[1]}
"""))
        plugins = ["rcpt_ok", self.queue]
        if self.spp:
            plugins.insert(0, f"spp {c}/smtpplugins")
            _write(os.path.join(c, "spp_noop.sh"), "#!/bin/sh\n# trivial spp plugin: prints nothing\nexit 0\n", 0o755)
            _write(os.path.join(c, "smtpplugins"), f"[rcpt]\n{c}/spp_noop.sh\n")
        _write(os.path.join(c, "plugins"), "\n".join(plugins) + "\n")
        _write(os.path.join(c, "rcpthosts"), RCPT_DOMAIN + "\n")
        _write(os.path.join(c, "me"), "bench.localhost\n")

    def check(self):
        """(ok, output) of asmtpd --check on this config."""
        r = subprocess.run([self.binary, "--check", "--config", self.cfg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        return r.returncode == 0, r.stdout.strip()

    def argv(self):
        return [self.binary, "--config", self.cfg]

    def note(self):
        return f"workers={self.workers}" + (", spp [rcpt] noop, 10% of the load" if self.spp else "")


class SmtpSink(Server):
    name = "smtp-sink"
    idle_cap = 2000     # it holds ~258 KiB per session and needs ~10 s of CPU to open 10 000

    def __init__(self, work, port, name=None, counters=False):
        super().__init__(work, port)
        self.name = name or self.name
        self.counters = counters     # -c: "mesg=N" counters on stdout (the log), read by delivered()

    def note(self):
        return f"Postfix smtp-sink, at most {self.idle_cap} idle"

    def argv(self):
        return ["smtp-sink", "-u", "nobody", "-m", "12000"] + (["-c"] if self.counters else []) + \
            [f"127.0.0.1:{self.port}", "4096"]

    def delivered(self, what="mesg"):
        """Messages taken so far (the last -c counter in the log; what="sess": sessions opened);
        None without -c or a log."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 4096))
                tail = f.read().decode(errors="replace")
        except (OSError, TypeError):
            return None
        hits = re.findall(what + r"=(\d+)", tail)
        return int(hits[-1]) if hits else 0


class ForwardAsmtpd(Asmtpd):
    """Issue 4's chain: asmtpd (rcpt_ok + queue/smtp_forward, defaults: a pool of at most 20
    connections per worker) in front of its own smtp-sink, which starts and stops with it. The
    sink counts what reached it, so a run can check every 250 against the next hop."""

    def __init__(self, work, port, binary, sink_port, name="asmtpd-fwd"):
        super().__init__(work, port, binary, name=name, queue=f"queue/smtp_forward 127.0.0.1:{sink_port}")
        self.downstream = SmtpSink(work, sink_port, name=name + "-sink", counters=True)

    def start(self, log_path, ready_timeout=60):
        self.downstream.start(log_path[:-4] + "-sink.log" if log_path.endswith(".log") else log_path + "-sink",
                              ready_timeout)
        try:
            super().start(log_path, ready_timeout)
        except Exception:
            self.downstream.stop()
            raise

    def stop(self, timeout=20):
        try:
            super().stop(timeout)
        finally:
            self.downstream.stop(timeout)

    def note(self):
        return f"rcpt_ok + queue/smtp_forward to its own smtp-sink on port {self.downstream.port}"


class Haraka(Server):
    stop_signal = signal.SIGINT
    msg_scale = 0.25      # its rate is steady well before this; keeps the full run under 20 min

    def __init__(self, work, port, haraka_dir, nodes):
        super().__init__(work, port)
        self.hdir, self.nodes = haraka_dir, nodes
        self.name = "haraka" if nodes == 0 else f"haraka-{nodes}w"
        self.use_pss = nodes > 0
        self.min_procs = 1 + nodes
        self.srv = os.path.join(haraka_dir, f"srv-{self.name}")
        self.bin = os.path.join(haraka_dir, "node_modules", ".bin", "haraka")

    def prepare(self):
        if not os.path.isdir(os.path.join(self.srv, "config")):
            subprocess.run([self.bin, "-i", self.srv], cwd=self.hdir, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cfg = os.path.join(self.srv, "config")
        _write(os.path.join(cfg, "smtp.ini"), f"listen=127.0.0.1:{self.port}\nnodes={self.nodes}\n"
               "inactivity_timeout=120\nforce_shutdown_timeout=5\n")
        _write(os.path.join(cfg, "log.ini"), "[main]\nlevel=warn\ntimestamps=true\nformat=default\n")
        _write(os.path.join(cfg, "plugins"), "peer_sink\n")
        _write(os.path.join(cfg, "plugin_timeout"), "10\n")
        _write(os.path.join(cfg, "me"), "peer.localhost\n")
        _write(os.path.join(self.srv, "plugins", "peer_sink.js"), HARAKA_PLUGIN)

    def argv(self):
        return [self.bin, "-c", self.srv]

    def cwd(self):
        return self.hdir

    def note(self):
        return f"Haraka 3.3.4 nodes={self.nodes}, {int(self.msg_scale * 100)}% of each message load"


class Qpsmtpd(Server):
    name = "qpsmtpd"
    use_pss = True

    def __init__(self, work, port, base="/tmp/asmtpd-bench-qpsmtpd", msg_scale=0.025, idle_cap=1000):
        super().__init__(work, port)
        self.base, self.msg_scale, self.idle_cap = base, msg_scale, idle_cap

    def prepare(self):
        b = self.base
        for d in ("config", "plugins/queue", "spool", "run", "lib"):
            os.makedirs(os.path.join(b, d), exist_ok=True)
        _write(f"{b}/config/me", "bench.localhost\n")
        _write(f"{b}/config/plugin_dirs", f"{b}/plugins\n/usr/share/qpsmtpd/plugins\n")
        _write(f"{b}/config/plugins", "accept_all_rcpt\nqueue/discard\n")
        _write(f"{b}/config/spool_dir", f"{b}/spool\n")
        _write(f"{b}/config/size_threshold", "1048576\n")
        _write(f"{b}/config/loglevel", "3\n")
        _write(f"{b}/plugins/accept_all_rcpt", "sub hook_rcpt { return (OK); }\n")
        _write(f"{b}/plugins/queue/discard", 'sub hook_queue { return (OK, "Queued (discarded by benchmark peer)"); }\n')
        _write(f"{b}/lib/NoRDNS.pm", QPSMTPD_NORDNS)
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "qpsmtpd:qpsmtpd", b], check=True)
        os.chmod(f"{b}/spool", 0o700)
        try:
            os.unlink(f"{b}/run/qpsmtpd.pid")
        except FileNotFoundError:
            pass

    def argv(self):
        b = self.base
        n = str((self.idle_cap or 1000) + 100)
        cmd = ["env", f"QPSMTPD_CONFIG={b}/config", "perl", "-T", f"-I{b}/lib", "-MNoRDNS",
               "/usr/bin/qpsmtpd-forkserver", "-l", "127.0.0.1", "-p", str(self.port), "-H",
               "-c", n, "-m", n, "--pid-file", f"{b}/run/qpsmtpd.pid"]
        if os.getuid() == 0:    # the server itself runs unprivileged; setpriv and env exec, same pid
            cmd = ["setpriv", "--reuid=qpsmtpd", "--regid=qpsmtpd", "--init-groups"] + cmd
        return cmd

    def cwd(self):
        return self.base

    def note(self):
        return (f"forkserver, NoRDNS preload, {self.msg_scale * 100:g}% of each message load, "
                f"at most {self.idle_cap} idle (a process each)")


class HarakaTls(Haraka):
    """Haraka with its tls plugin (STARTTLS) on the bench's pair; requestCert=false so its
    handshake is the one asmtpd does (no CertificateRequest), dhparams given so it never runs
    `openssl dhparam` at start-up."""
    msg_scale = 0.5

    def __init__(self, work, port, haraka_dir, nodes, pair):
        super().__init__(work, port, haraka_dir, nodes)
        self.name = "haraka-tls" if nodes == 0 else f"haraka-tls-{nodes}w"
        self.srv = os.path.join(haraka_dir, f"srv-{self.name}")
        self.pair = pair

    def prepare(self):
        super().prepare()
        cfg = os.path.join(self.srv, "config")
        _write(os.path.join(cfg, "plugins"), "tls\npeer_sink\n")
        for src, dst in zip(self.pair, ("tls_cert.pem", "tls_key.pem", "dhparams.pem")):
            shutil.copyfile(src, os.path.join(cfg, dst))
        _write(os.path.join(cfg, "tls.ini"), "; written by scripts/bench\nkey=tls_key.pem\ncert=tls_cert.pem\n"
               "dhparam=dhparams.pem\nrequestCert=false\n")

    def note(self):
        return f"Haraka 3.3.4 + tls plugin, nodes={self.nodes}, {int(self.msg_scale * 100)}% of each load"


def tls_pair(work):
    """(cert, key, dhparams) under work/tls, made once: a self-signed RSA-2048 pair as
    scripts/run makes for the shipped config, and RFC 7919's ffdhe2048 group (instant)."""
    d = os.path.join(work, "tls")
    cert, key, dh = (os.path.join(d, n) for n in ("cert.pem", "key.pem", "dhparams.pem"))
    os.makedirs(d, exist_ok=True)
    if not (os.path.getsize(cert) if os.path.exists(cert) else 0) or not os.path.exists(key):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=bench.localhost", "-keyout", key, "-out", cert], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(key, 0o600)
    if not os.path.exists(dh):
        subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048",
                        "-out", dh], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key, dh


def have_haraka(haraka_dir):
    return os.access(os.path.join(haraka_dir, "node_modules", ".bin", "haraka"), os.X_OK)


def have_qpsmtpd():
    return os.path.exists("/usr/bin/qpsmtpd-forkserver") and shutil.which("perl") is not None
