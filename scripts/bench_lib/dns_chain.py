# dns_chain.py - load (i)'s servers: the DNS policy chain (issue 11) in asmtpd and in Haraka,
# both asking the bench's loopback DNS server (bench_dns.py) and nothing else.
#
# Both policy chains leave loopback and private clients alone, so the client (proxy_source.c)
# sends a PROXY v1 header and the servers see bench_dns.CHAIN_CLIENT, a public-looking address
# with a forward-confirmed name, a matching HELO, SPF pass and no DNSBL listing. Each plugin is
# set to refuse what it fails, so a broken zone shows as failed runs, never as a fast number.
#   asmtpd-dns    fcrdns, helo (policy rfc), dnsbl (2 zones), sender_permitted_from, rcpt_ok
#   asmtpd-proxy  rcpt_ok only, same PROXY listener and client: (i)'s baseline without the chain
#   haraka-dns    dns-list (2 zones), fcrdns, helo.checks, spf, then a sink (nodes=0; -2w: 2)
# Haraka has no DNS settings of its own: a preloaded module (NODE_OPTIONS --require) points
# node:dns's default resolvers, and every Resolver a plugin creates, at the bench server.
# asmtpd's resolver counters are logged at info level when it stops: before SIGTERM the bench
# switches log_level to info by SIGHUP (the runs themselves log at warn) and reads that line.
# Owner: tooling (scripts/bench_lib/).
import os
import re
import signal
import socket
import time

import bench_dns
import servers as S

HARAKA_PRELOAD = """// written by scripts/bench: node:dns asks only the bench's DNS server ($BENCH_DNS_SERVER)
'use strict'
const dns = require('node:dns')
const servers = [process.env.BENCH_DNS_SERVER]
dns.setServers(servers)
dns.promises.setServers(servers)
for (const ns of [dns, dns.promises]) {
    const Base = ns.Resolver
    ns.Resolver = class BenchResolver extends Base {
        constructor(options) { super(options); this.setServers(servers) }
    }
}
"""

HARAKA_SINK = """// benchmark-peer plugin for load (i): accept every RCPT, sink every message (rDNS is fcrdns's)
exports.register = function () {
    this.register_hook('rcpt', 'accept_rcpt')
    this.register_hook('queue', 'sink')
    this.register_hook('queue_outbound', 'sink')
}
exports.accept_rcpt = (next) => next(OK)
exports.sink = (next) => next(OK, 'Message sunk')
"""

DNS_LINE = re.compile(r"dns: (\d+) lookups, (\d+) from the cache, (\d+) joined a question in flight, "
                      r"(\d+) sent, (\d+) past their deadline")


def proxy_banner_ok(port, timeout=2.0):
    """A 220 after a PROXY header from the chain's client (both servers wait for the header)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"PROXY TCP4 {bench_dns.CHAIN_CLIENT} 127.0.0.1 40000 {port}\r\n".encode())
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    return False
                data += chunk
            s.sendall(b"QUIT\r\n")
            return data.startswith(b"220")
    except OSError:
        return False


class ChainClient:
    """The load (i) client and DNS accounting shared by the chain's servers."""
    proxy_source = None     # path of the built proxy_source, set by main.py

    def ready(self):
        return proxy_banner_ok(self.port)

    def load_argv(self, msgs, size, sessions, reuse):
        assert not reuse, "proxy_source opens a connection per message"
        self.msgs_sent = getattr(self, "msgs_sent", 0) + msgs   # warm-up and runs alike
        return [self.proxy_source, "-s", str(sessions), "-m", str(msgs), "-l", str(size),
                "-p", bench_dns.CHAIN_CLIENT, "-H", bench_dns.CHAIN_HELO, "-f", bench_dns.CHAIN_SENDER,
                "-t", "rcpt@" + S.RCPT_DOMAIN, f"127.0.0.1:{self.port}"]

    @property
    def dns(self):
        return bench_dns.server(self.work)


class AsmtpdChain(ChainClient, S.Asmtpd):
    def __init__(self, work, port, binary, chain=True):
        super().__init__(work, port, binary, name="asmtpd-dns" if chain else "asmtpd-proxy")
        self.chain = chain
        self.final_stats = None

    def yaml(self, log_level):
        return f"""# written by scripts/bench (load i)
hostname: bench.localhost
listen:
  - {{ address: 127.0.0.1, port: {self.port}, proxy_protocol: true }}
trusted_proxies: ["127.0.0.1/32"]
spool_dir: {self.cfg}/spool
workers: {self.workers}
log_level: {log_level}
limits:
  max_connections: 20000
  max_connections_per_ip: 20000
dns:
  servers: ["{self.dns.address}"]   # bench_dns.py: never the machine's resolver
""" + S.RUN_AS_YAML

    def prepare(self):
        super().prepare()
        c = self.cfg
        S._write(os.path.join(c, "asmtpd.yaml"), self.yaml("warn"))
        chain = ["fcrdns reject 1", "helo policy rfc reject 1", "dnsbl", "sender_permitted_from reject 3"]
        S._write(os.path.join(c, "plugins"), "\n".join((chain if self.chain else []) + ["rcpt_ok", self.queue]) + "\n")
        S._write(os.path.join(c, "dnsbl_zones"),
                 "".join(f"{z}:%IP% is listed on {z}\n" for z in bench_dns.DNSBL_ZONES))

    def stop(self, timeout=20):
        """SIGHUP to log_level info first, so the resolver's counters reach the log at exit."""
        if self.proc is not None and self.proc.poll() is None:
            S._write(os.path.join(self.cfg, "asmtpd.yaml"), self.yaml("info"))
            os.kill(self.proc.pid, signal.SIGHUP)
            time.sleep(1.0)
        super().stop(timeout)
        self.final_stats = self.resolver_stats()

    def resolver_stats(self):
        try:
            with open(self.log_path, errors="replace") as f:
                hits = DNS_LINE.findall(f.read())
        except (OSError, TypeError):
            return None
        if not hits:
            return None
        # one line per worker loop at exit: the last `workers` lines are this run's loops
        last = hits[-self.workers:]
        lookups, cached, joined, sent, late = (sum(int(h[i]) for h in last) for i in range(5))
        msgs = getattr(self, "msgs_sent", 0)
        return {"lookups": lookups, "cache_hits": cached, "coalesced": joined, "sent": sent, "deadlines": late,
                "cache_hit_rate": round(cached / lookups, 4) if lookups else None, "msgs": msgs,
                "lookups_per_msg": round(lookups / msgs, 2) if msgs else None,
                "note": "asmtpd's resolver over the server's life (warm-up + every run), from its exit log line"}

    def note(self):
        return ("fcrdns, helo rfc, dnsbl x2, spf; PROXY from " + bench_dns.CHAIN_CLIENT) if self.chain else \
            "rcpt_ok only, PROXY listener and client as asmtpd-dns (the chain's baseline)"


class HarakaChain(ChainClient, S.Haraka):
    def __init__(self, work, port, haraka_dir, nodes):
        super().__init__(work, port, haraka_dir, nodes)
        self.name = "haraka-dns" if nodes == 0 else f"haraka-dns-{nodes}w"
        self.srv = os.path.join(haraka_dir, f"srv-{self.name}")

    def prepare(self):
        super().prepare()
        cfg = os.path.join(self.srv, "config")
        zones = ",".join(bench_dns.DNSBL_ZONES)
        S._write(os.path.join(cfg, "plugins"), "dns-list\nfcrdns\nhelo.checks\nspf\nbench_sink\n")
        # Haraka's own connection.ini (it has no defaults in code), PROXY trusted from 127.0.0.1
        with open(os.path.join(self.hdir, "node_modules", "Haraka", "config", "connection.ini")) as f:
            stock = f.read()
        ini, n = re.subn(r"(?m)^hosts\[\] *=.*$", "hosts[] = 127.0.0.1", stock, count=1)
        if n != 1:
            raise RuntimeError("Haraka's connection.ini has no [haproxy] hosts[] line to set")
        S._write(os.path.join(cfg, "connection.ini"), ini)
        S._write(os.path.join(cfg, "dns-list.ini"),
                 f"[main]\nperiodic_checks=0\nzones={zones}\nsearch=all\n\n[ips.backscatterer.org]\nenable=false\n"
                 + "".join(f"\n[{z}]\ntype=block\nreject=true\n" for z in bench_dns.DNSBL_ZONES))
        S._write(os.path.join(cfg, "fcrdns.ini"), "[main]\ntimeout=5\n\n[reject]\nno_rdns=true\nno_fcrdns=true\n"
                 "invalid_tld=false\ngeneric_rdns=false\n")
        # helo.checks' stock rejections stay as shipped; the HELO name passes them
        S._write(os.path.join(cfg, "spf.ini"), "[deny]\nmfrom_fail=true\nhelo_fail=false\n")
        S._write(os.path.join(self.srv, "plugins", "bench_sink.js"), HARAKA_SINK)
        S._write(os.path.join(self.srv, "bench_dns_preload.js"), HARAKA_PRELOAD)

    def env(self):
        e = dict(os.environ)
        e["NODE_OPTIONS"] = (e.get("NODE_OPTIONS", "") + " --require " + os.path.join(self.srv, "bench_dns_preload.js")).strip()
        e["BENCH_DNS_SERVER"] = self.dns.address
        return e

    def note(self):
        return (f"Haraka 3.3.4 nodes={self.nodes}: dns-list x2, fcrdns, helo.checks, spf; "
                f"{int(self.msg_scale * 100)}% of the load")
