# loads.py - the benchmark loads (a)-(l) and one measured run of a load against a started server.
#
# Message loads are Postfix smtp-source; the idle load is idle_client.py; the STARTTLS loads are
# tls_client.py. A run measures wall
# time, server CPU seconds (process tree, before/after) and peak memory (Sampler, 100 ms), plus
# the client's own CPU (it shares the 2 cores). A failed client makes the run invalid, never a
# number. Only 127.0.0.1 is ever addressed. Owner: tooling (scripts/bench_lib/).
import json
import os
import resource
import subprocess
import sys
import time

import procs

HERE = os.path.dirname(os.path.abspath(__file__))
KB, MB = 1024, 1024 * 1024

CLASSIC = ("asmtpd", "asmtpd-2w", "smtp-sink", "haraka", "haraka-2w", "qpsmtpd")
FORWARD = ("asmtpd-fwd", "smtp-sink")                  # issue 4: the chain and its ceiling
TLS = ("asmtpd-tls", "haraka-tls", "haraka-tls-2w")    # issue 5
CHAIN = ("asmtpd-dns", "asmtpd-proxy", "haraka-dns", "haraka-dns-2w")   # issue 11 (dns_chain.py)
DKIM = ("asmtpd-dkim", "asmtpd-nodkim", "asmtpd-dkim-2w", "asmtpd-nodkim-2w")   # issue 12 (dkim_load.py)
MILTER = ("asmtpd-milter", "asmtpd-milter-reuse", "asmtpd")               # issue 13 (milter_load.py)
SCAN = ("asmtpd-scan", "haraka-scan")              # issue 13 (scan_load.py)
STATE = ("asmtpd-m-redis", "asmtpd-m-embedded", "asmtpd-b")   # issue 14 (state_load.py)

# id -> spec; msgs/conns are the full sizes, --quick divides them by 20. `servers`: who takes
# part (then narrowed by --servers). Ids are one letter, or a letter and a variant letter;
# --loads g selects every id starting with g.
LOADS = {
    "a": dict(kind="smtp", msgs=20000, size=KB, sessions=1, reuse=False, servers=CLASSIC,
              title="(a) 1 KB, conn/msg, conc 1"),
    "b": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, servers=CLASSIC,
              title="(b) 1 KB, conn/msg, conc 50"),
    "c": dict(kind="smtp", msgs=2000, size=MB, sessions=10, reuse=False, servers=CLASSIC,
              title="(c) 1 MB, conn/msg, conc 10"),
    "d": dict(kind="idle", conns=10000, servers=CLASSIC, title="(d) 10k idle conns after EHLO"),
    "e": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=True, servers=CLASSIC,
              title="(e) 1 KB, reused conns, conc 50"),
    "f": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, spp=True, servers=(),
              title="(f) load b + spp [rcpt] noop"),
    "g": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, servers=FORWARD,
              title="(g) load b through queue/smtp_forward to smtp-sink"),
    "ge": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=True, servers=FORWARD,
               title="(ge) load e (reused conns) through queue/smtp_forward"),
    "gc": dict(kind="smtp", msgs=1000, size=MB, sessions=10, reuse=False, servers=FORWARD,
               title="(gc) load c (1 MB, conc 10) through queue/smtp_forward"),
    "h": dict(kind="tls", mode="msg", msgs=3000, size=KB, sessions=50, servers=TLS,
              title="(h) STARTTLS + 1 KB msg, conn/msg, conc 50"),
    "hh": dict(kind="tls", mode="handshake", msgs=3000, size=0, sessions=50, servers=TLS,
               title="(hh) STARTTLS handshake only, conc 50 (msgs/s = handshakes/s)"),
    "i": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, servers=CHAIN,
              title="(i) load b + DNS policy chain (fcrdns, helo, dnsbl x2, SPF) via PROXY"),
    "j": dict(kind="smtp", msgs=10000, size=10 * KB, sessions=50, reuse=False, servers=DKIM,
              title="(j) 10 KB rsa-sha256 (2048) signed msgs, conn/msg, conc 50, through dkim + dmarc"),
    "k": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, servers=MILTER,
              title="(k) load b through a persistent accept-all milter (milter plugin)"),
    "l": dict(kind="smtp", msgs=300, size=10 * KB, sessions=50, reuse=False, servers=SCAN,
              title="(l) 10 KB, conn/msg, conc 50, through spamd + clamd (spamassassin, clamdscan)"),
    "m": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, servers=STATE,
              title="(m) load b through karma + limit + greylisting (white) on Redis and on LMDB"),
}


def select(text):
    """--loads text -> load ids in LOADS order. A letter takes its load and the variants
    ("g" = g, ge, gc); a variant id alone ("ge,hh") takes just it; "abcdef" = a,b,...; "all"."""
    if text == "all":
        return list(LOADS)
    want = []
    for tok in filter(None, text.replace(" ", "").split(",")):
        if tok in LOADS and len(tok) > 1:
            want.append(tok)
        else:   # a run of letters: each selects its load and that load's variants
            for ch in tok:
                hit = [k for k in LOADS if k[0] == ch]
                if not hit:
                    raise ValueError(f"unknown load {ch!r} in {tok!r}; known: {','.join(LOADS)}")
                want += hit
    return [k for k in LOADS if k in want]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def smtp_source_argv(port, msgs, size, sessions, reuse):
    argv = ["smtp-source", "-s", str(sessions), "-m", str(msgs), "-l", str(size),
            "-M", "client.localhost", "-f", "bench@client.localhost", "-t", "rcpt@bench.test"]
    if reuse:
        argv.append("-d")
    return argv + [f"127.0.0.1:{port}"]


def run_smtp(server, msgs, size, sessions, reuse, timeout=900):
    """One smtp-source run (or the server's own client: load_argv). Returns a result dict;
    result['ok'] False means do not use it. A server with a `dns` (load i) also gets the DNS
    server's queries and CPU during the run."""
    if hasattr(server, "load_argv"):
        argv = server.load_argv(msgs, size, sessions, reuse)
    else:
        argv = smtp_source_argv(server.port, msgs, size, sessions, reuse)
    pids = server.pids()
    dns = getattr(server, "dns", None)
    dq0 = dns.queries() if dns else None
    side = getattr(server, "side_pids", None)     # load (l): the scanning daemons
    sc0 = procs.cpu_seconds(side()) if side else None
    dcpu0 = procs.cpu_seconds([dns.proc.pid]) if dns else None
    sink = getattr(server, "downstream", None)
    d0 = sink.delivered() if sink is not None else None
    s0 = sink.delivered("sess") if sink is not None else None
    dc0 = procs.cpu_seconds(sink.pids()) if sink is not None else None
    counters = getattr(server, "run_counters", None)   # load (m): redis-server's CPU and commands
    rc0 = counters() if counters else {}
    cpu0 = procs.cpu_seconds(pids)
    ccpu0 = children_cpu()
    with procs.Sampler(server.pid, server.use_pss) as smp:
        t0, m0 = time.monotonic(), procs.machine_ticks()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, 9)
            out, _ = p.communicate()
            out += f"\n(timeout after {timeout}s)"
        wall, m1 = time.monotonic() - t0, procs.machine_ticks()
        time.sleep(0.3)   # let a forking server reap its last children into cutime
    cpu1 = procs.cpu_seconds(server.pids())
    ok = p.returncode == 0 and "fatal" not in out and "warning" not in out
    extra = {}
    if dns:
        q = dns.queries() - dq0
        extra = {"dns_queries": q, "dns_queries_per_msg": round(q / msgs, 3),
                 "dns_server_cpu_s": round(procs.cpu_seconds([dns.proc.pid]) - dcpu0, 2)}
    sink = getattr(server, "downstream", None)
    if sink is not None:
        # every 250 must have reached the next hop: smtp-source counts none it did not get
        time.sleep(0.2)
        got = sink.delivered() - d0 if d0 is not None and sink.delivered() is not None else None
        s1 = sink.delivered("sess")
        extra = {"delivered": got, "downstream_cpu_s": round(procs.cpu_seconds(sink.pids()) - dc0, 2),
                 # the pool's connections to the next hop: open now, plus those that ended in the run
                 # (smtp-sink -c counts a session when it ends)
                 "downstream_sessions": procs.tcp_established_to(sink.port)
                 + (s1 - s0 if s0 is not None and s1 is not None else 0)}
        if got != msgs:
            ok = False
            out += f"\nnext hop took {got} of {msgs} messages"
    if side:
        sc = procs.cpu_seconds(side()) - sc0
        extra.update({"daemons_cpu_s": round(sc, 2), "daemons_cpu_us_per_msg": round(sc / msgs * 1e6, 1)})
    if counters:
        rc1 = counters()
        extra.update({k + "_per_msg": round((rc1[k] - rc0[k]) / msgs, 3) for k in rc1 if k in rc0})
    return dict(extra, **{
        "ok": ok, "msgs": msgs, "size": size, "wall_s": round(wall, 3),
        "msgs_per_s": round(msgs / wall, 1), "mb_per_s": round(msgs * size / MB / wall, 2),
        "cpu_s": round(cpu1 - cpu0, 2), "cpu_us_per_msg": round((cpu1 - cpu0) / msgs * 1e6, 1),
        "client_cpu_s": round(children_cpu() - ccpu0, 2),
        "peak_mem_kb": smp.peak_kb, "max_procs": smp.max_procs,
        "client_output": out.strip()[-400:],
    }, **procs.machine_shares(m0, m1))


def run_idle(server, conns, hold=3.0, burst=50, base_kb=None):
    """Load (d): open conns idle sessions, hold them `hold` s, measure memory and banner latency.
    base_kb: the server's memory when fresh; after a first run an allocator keeps what it got
    (asmtpd holds its 10k-session RSS), so 'per connection' is always counted from fresh."""
    pids = server.pids()
    if base_kb is None:
        base_kb = procs.memory_kb(pids, server.use_pss)
    cpu0 = procs.cpu_seconds(pids)
    with procs.Sampler(server.pid, server.use_pss) as smp:
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "idle_client.py"), str(server.port), str(conns),
                              "--burst", str(burst)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ready = p.stdout.readline()
        time.sleep(hold)          # sampled while every session sits idle
        held_kb = procs.memory_kb(server.pids(), server.use_pss)
        try:
            p.stdin.write("\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, 9)
            out, err = p.communicate()
    cpu1 = procs.cpu_seconds(server.pids())
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False, "client_output": (ready + out + err)[-400:]}
    opened = res["opened"]
    res.update({
        "ok": opened == conns and res["alive_at_end"] == opened,
        "conns": conns, "base_mem_kb": base_kb, "held_mem_kb": held_kb, "peak_mem_kb": smp.peak_kb,
        "kib_per_conn": round((held_kb - base_kb) / max(1, opened), 2),
        "cpu_s": round(cpu1 - cpu0, 2), "max_procs": smp.max_procs,
    })
    return res


def run_tls(server, sessions_n, spec, procs_n=1, timeout=900):
    """One tls_client.py run (load h/hh): procs_n client processes share the sessions and the
    concurrency. Rates use the clients' own clock (first connect to last session end), so
    Python's start-up is not counted; client CPU is every client process's, from rusage."""
    pids = server.pids()
    cpu0 = procs.cpu_seconds(pids)
    ccpu0 = children_cpu()
    per = [sessions_n // procs_n + (1 if i < sessions_n % procs_n else 0) for i in range(procs_n)]
    conc = [max(1, spec["sessions"] // procs_n)] * procs_n
    with procs.Sampler(server.pid, server.use_pss) as smp:
        ps = [subprocess.Popen([sys.executable, os.path.join(HERE, "tls_client.py"), str(server.port), str(n),
                                "-c", str(c), "--mode", spec["mode"], "--size", str(spec["size"])],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for n, c in zip(per, conc) if n > 0]
        outs = []
        for p in ps:
            try:
                out, _ = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, 9)
                out, _ = p.communicate()
                out += f"\n(timeout after {timeout}s)"
            outs.append((p.returncode, out))
    cpu1 = procs.cpu_seconds(server.pids())
    res = []
    for rc, out in outs:
        try:
            res.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            return {"ok": False, "client_output": out.strip()[-400:]}
    ok_n = sum(r["ok"] for r in res)
    hs = sum(r["handshakes"] for r in res)
    errors = {}
    for r in res:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    wall = max(r["end"] for r in res) - min(r["start"] for r in res)
    ccpu = children_cpu() - ccpu0
    loop_cpu = sum(r["cpu_s"] for r in res)     # inside the clients' timed window only
    lat = lambda key: max(r["handshake_ms"][key] or 0 for r in res)   # noqa: E731 - worst client
    n = sum(per)
    return {
        "ok": ok_n == n and all(rc == 0 for rc, _ in outs), "msgs": n, "size": spec["size"],
        "wall_s": round(wall, 3), "msgs_per_s": round(ok_n / wall, 1),
        "handshakes_per_s": round(hs / wall, 1),
        "mb_per_s": round(ok_n * spec["size"] / MB / wall, 3) if spec["size"] else None,
        "cpu_s": round(cpu1 - cpu0, 2), "cpu_us_per_msg": round((cpu1 - cpu0) / n * 1e6, 1),
        "client_cpu_s": round(ccpu, 2), "client_cores": round(loop_cpu / wall, 2) if wall else None,
        "client_procs": len(ps), "hs_p50_ms": lat("p50"), "hs_p99_ms": lat("p99"),
        "tls": res[0]["proto"], "peak_mem_kb": smp.peak_kb, "max_procs": smp.max_procs,
        "client_output": (json.dumps(errors) if errors else "")[-400:],
    }


def run_load(server, spec, n, procs_n=1):
    """One measured run of a message-like load (smtp-source or the TLS client)."""
    if spec["kind"] == "tls":
        return run_tls(server, n, spec, procs_n)
    return run_smtp(server, n, spec["size"], spec["sessions"], spec["reuse"])
