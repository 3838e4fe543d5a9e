# loads.py - the benchmark loads (a)-(f) and one measured run of a load against a started server.
#
# Message loads are Postfix smtp-source; the idle load is idle_client.py. A run measures wall
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

# name -> spec; msgs/conns are the full sizes, --quick divides them by 20
LOADS = {
    "a": dict(kind="smtp", msgs=20000, size=KB, sessions=1, reuse=False,
              title="(a) 1 KB, conn/msg, conc 1"),
    "b": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False,
              title="(b) 1 KB, conn/msg, conc 50"),
    "c": dict(kind="smtp", msgs=2000, size=MB, sessions=10, reuse=False,
              title="(c) 1 MB, conn/msg, conc 10"),
    "d": dict(kind="idle", conns=10000, title="(d) 10k idle conns after EHLO"),
    "e": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=True,
              title="(e) 1 KB, reused conns, conc 50"),
    "f": dict(kind="smtp", msgs=20000, size=KB, sessions=50, reuse=False, spp=True,
              title="(f) load b + spp [rcpt] noop"),
}


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
    """One smtp-source run. Returns a result dict; result['ok'] False means do not use it."""
    argv = smtp_source_argv(server.port, msgs, size, sessions, reuse)
    pids = server.pids()
    cpu0 = procs.cpu_seconds(pids)
    ccpu0 = children_cpu()
    with procs.Sampler(server.pid, server.use_pss) as smp:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, 9)
            out, _ = p.communicate()
            out += f"\n(timeout after {timeout}s)"
        wall = time.monotonic() - t0
        time.sleep(0.3)   # let a forking server reap its last children into cutime
    cpu1 = procs.cpu_seconds(server.pids())
    ok = p.returncode == 0 and "fatal" not in out and "warning" not in out
    return {
        "ok": ok, "msgs": msgs, "size": size, "wall_s": round(wall, 3),
        "msgs_per_s": round(msgs / wall, 1), "mb_per_s": round(msgs * size / MB / wall, 2),
        "cpu_s": round(cpu1 - cpu0, 2), "cpu_us_per_msg": round((cpu1 - cpu0) / msgs * 1e6, 1),
        "client_cpu_s": round(children_cpu() - ccpu0, 2),
        "peak_mem_kb": smp.peak_kb, "max_procs": smp.max_procs,
        "client_output": out.strip()[-400:],
    }


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
