#!/usr/bin/env python3
# main.py - the benchmark run scripts/bench starts: every load against every server, medians,
# the table, results.json and results.png.
#
# For each load, each server is started fresh (so one load's memory never shows in the next),
# warmed up with a few messages, measured --reps times, and stopped by its pid. Servers that are
# not installed are skipped with a note, never faked. Everything is on 127.0.0.1.
# Owner: tooling (scripts/bench_lib/).
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dkim_load           # noqa: E402
import dns_chain           # noqa: E402
import milter_load         # noqa: E402
import loads as L          # noqa: E402
import procs               # noqa: E402
import report              # noqa: E402
import scan_load           # noqa: E402
import servers as S        # noqa: E402
import state_load          # noqa: E402


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, file=sys.stderr, flush=True)


def median_of(runs, keys):
    out = {}
    for k in keys:
        vals = [r[k] for r in runs if r.get(k) is not None]
        out[k] = statistics.median(vals) if vals else None
    return out


def flatten_idle(r):
    return dict(r, banner_p50_ms=r["banner_ms"]["p50"], banner_p99_ms=r["banner_ms"]["p99"],
                banner_max_ms=r["banner_ms"]["max"], ehlo_p99_ms=r["ehlo_ms"]["p99"])


IDLE_KEYS = ("opened", "held_mem_kb", "peak_mem_kb", "base_mem_kb", "kib_per_conn", "cpu_s", "banner_p50_ms",
             "banner_p99_ms", "banner_max_ms", "ehlo_p99_ms", "banners_over_1s", "open_seconds", "max_procs")


def one_run(server, spec, entry, load, i, args):
    if spec["kind"] == "smtp":
        r = L.run_smtp(server, entry["msgs"], spec["size"], spec["sessions"], spec["reuse"])
        log(f"({load}) {server.name} run {i + 1}/{args.reps}: {r['msgs_per_s']:.0f} msgs/s, "
            f"{r['mb_per_s']:.2f} MB/s, cpu {r['cpu_s']}s, peak {r['peak_mem_kb'] / 1024:.1f} MB"
            + (f", next hop took {r['delivered']}" if "delivered" in r else "")
            + (f", daemons cpu {r['daemons_cpu_s']}s" if "daemons_cpu_s" in r else "")
            + (f", machine idle {r['machine_idle_pct']}% steal {r['machine_steal_pct']}%" if "machine_idle_pct" in r else "")
            + ("" if r["ok"] else "  FAILED: " + r["client_output"][-160:]))
        time.sleep(0.5)
    elif spec["kind"] == "tls":
        r = L.run_tls(server, entry["msgs"], spec, args.tls_procs)
        if "handshakes_per_s" in r:
            log(f"({load}) {server.name} run {i + 1}/{args.reps}: {r['msgs_per_s']:.0f} sessions/s, "
                f"{r['handshakes_per_s']:.0f} handshakes/s, cpu {r['cpu_s']}s, client cpu {r['client_cpu_s']}s "
                f"({r['client_cores']} cores), handshake p99 {r['hs_p99_ms']} ms, {r['tls']}"
                + ("" if r["ok"] else "  FAILED: " + r["client_output"][-160:]))
        else:
            log(f"({load}) {server.name} run {i + 1}/{args.reps}: FAILED: {r['client_output'][-160:]}")
        time.sleep(0.5)
    else:
        r = L.run_idle(server, entry["conns"], hold=args.hold, base_kb=entry["fresh_mem_kb"])
        if "banner_ms" in r:
            r = flatten_idle(r)
        log(f"({load}) {server.name} run {i + 1}/{args.reps}: {r.get('opened')}/{entry['conns']} open, held "
            f"{r.get('held_mem_kb', 0) / 1024:.1f} MB ({r.get('kib_per_conn')} KiB/conn), banner max "
            f"{r.get('banner_max_ms')} ms" + ("" if r["ok"] else f"  FAILED: {r.get('errors') or r.get('client_output')}"))
        time.sleep(1.0)
    return r


def measure(servers, spec, args, logdir, load):
    """One load against several servers: all started fresh (each on its own port), warmed up,
    then the runs interleaved (run 1 of every server, then run 2, ...) so a burst of noise from
    other work on the machine hits every server alike; all stopped by pid at the end."""
    entries, live = {}, []
    try:
        for server in servers:
            entry = entries[server.name] = {"note": server.note()}
            try:
                server.prepare()
                server.start(os.path.join(logdir, f"{server.name}-{load}.log"))
            except Exception as e:  # noqa: BLE001
                log(f"({load}) {server.name}: start failed: {e}")
                entry["error"] = f"start failed: {str(e).splitlines()[0]}"
                continue
            live.append(server)
            entry["fresh_mem_kb"] = procs.memory_kb(server.pids(), server.use_pss)
            if spec["kind"] in ("smtp", "tls"):
                msgs = max(1, int(spec["msgs"] * args.scale * server.msg_scale))
                if args.scale < 1 or server.msg_scale < 1:
                    msgs = max(msgs, 20)
                entry["msgs"] = msgs
                warm = L.run_load(server, spec, max(10, min(200, msgs // 10)), args.tls_procs)
                if not warm["ok"]:
                    log(f"({load}) {server.name}: warm-up failed: {warm['client_output'][-200:]}")
                    entry["error"] = "warm-up failed: " + warm["client_output"][-200:]
            else:
                conns = int(spec["conns"] * args.scale)
                entry["conns"] = min(conns, server.idle_cap) if server.idle_cap else conns
            entry["runs"] = []
        for i in range(args.reps):
            for server in live:
                entry = entries[server.name]
                if "error" in entry:
                    continue
                if server.proc.poll() is not None:
                    entry["error"] = f"server died (exit {server.proc.returncode}): {server.log_tail(3)}"
                    continue
                entry["runs"].append(one_run(server, spec, entry, load, i, args))
    finally:
        for server in live:
            server.stop()
            if getattr(server, "final_stats", None):   # asmtpd-dns: its resolver's counters
                entries[server.name]["resolver"] = server.final_stats
            if hasattr(server, "final_check"):         # load (m): the store's counters, checked
                info, err = server.final_check()
                entries[server.name].update(info)
                if err and "error" not in entries[server.name]:
                    log(f"({load}) {server.name}: INVALID: {err}")
                    entries[server.name]["invalid"] = err
    keys = IDLE_KEYS if spec["kind"] == "idle" else report.SMTP_METRICS
    for entry in entries.values():
        runs = entry.get("runs", [])
        good = [r for r in runs if r.get("ok")]
        entry["reps_ok"] = len(good)
        if "invalid" in entry:
            entry["error"] = "invalid: " + entry["invalid"]
        elif good:
            entry["median"] = median_of(good, keys)
        elif "error" not in entry:
            entry["error"] = "every run failed: " + str(runs[-1].get("client_output") or runs[-1].get("errors"))[-200:] \
                if runs else "no runs"
    return entries


def raw_spawn(args, spec, script, scale):
    """The raw uv_spawn ceiling for (f): the same noop script, spawned by a bare libuv loop."""
    n = max(200, int(spec["msgs"] * args.scale * scale))
    r = subprocess.run([args.spawn_loop, script, str(n), str(spec["sessions"])], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
    if r.returncode != 0 or "per_sec" not in kv:
        return {"error": "uv_spawn_loop failed: " + r.stdout[-200:]}
    m = {"msgs_per_s": float(kv["per_sec"]), "mb_per_s": None, "cpu_s": None, "cpu_us_per_msg": None,
         "peak_mem_kb": None, "client_cpu_s": None}
    return {"note": f"bare libuv loop, {n} spawns of the noop script, {spec['sessions']} in flight (spawns/s)",
            "msgs": n, "reps_ok": 1, "runs": [kv], "median": m}


def versions(args):
    v = {}
    def cmd(name, argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=20)
            v[name] = r.stdout.strip().splitlines()[0][:100] if r.stdout.strip() else ""
        except Exception as e:  # noqa: BLE001
            v[name] = f"? ({e})"
    cmd("asmtpd", [args.asmtpd, "--version"])
    cmd("postfix", ["dpkg-query", "-W", "-f=${Version}", "postfix"])
    cmd("qpsmtpd", ["dpkg-query", "-W", "-f=${Version}", "qpsmtpd"])
    cmd("node", ["node", "--version"])
    cmd("openssl", ["openssl", "version"])
    cmd("python", [sys.executable, "--version"])
    return v


def main():
    ap = argparse.ArgumentParser(description="asmtpd benchmark (run through scripts/bench)")
    ap.add_argument("--asmtpd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--haraka-dir", required=True)
    ap.add_argument("--spawn-loop", required=True)
    ap.add_argument("--proxy-source", required=True, help="load (i)'s client (proxy_source.c)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--loads", default="all", help="e.g. g,h or abcdef or ge,hh (a letter takes its variants)")
    ap.add_argument("--servers", default="asmtpd,asmtpd-2w,smtp-sink,haraka,haraka-2w,qpsmtpd,"
                    "asmtpd-fwd,asmtpd-tls,haraka-tls,haraka-tls-2w,asmtpd-dns,asmtpd-proxy,haraka-dns,haraka-dns-2w,"
                    "asmtpd-dkim,asmtpd-nodkim,asmtpd-dkim-2w,asmtpd-nodkim-2w,asmtpd-milter-reuse,asmtpd-milter,asmtpd-scan,haraka-scan,"
                    "asmtpd-m-redis,asmtpd-m-embedded,asmtpd-b")
    ap.add_argument("--tls-procs", type=int, default=1, help="TLS client processes for loads h/hh")
    ap.add_argument("--port-base", type=int, default=25710)
    ap.add_argument("--hold", type=float, default=3.0)
    args = ap.parse_args()
    args.scale = 1 / 20 if args.quick else 1.0
    args.reps = args.reps or (1 if args.quick else 3)
    try:
        load_ids = L.select(args.loads)
    except ValueError as e:
        ap.error(str(e))

    work = args.work
    logdir = os.path.join(work, "logs")
    os.makedirs(logdir, exist_ok=True)
    wanted = args.servers.split(",")
    pb = args.port_base
    scan_daemons = scan_load.ScanDaemons(logdir)   # load (l): started by its first server, stopped after the load
    all_servers = {
        "asmtpd": lambda: S.Asmtpd(work, pb, args.asmtpd),
        "asmtpd-2w": lambda: S.Asmtpd(work, pb + 1, args.asmtpd, workers=2),
        "smtp-sink": lambda: S.SmtpSink(work, pb + 2),
        "haraka": lambda: S.Haraka(work, pb + 3, args.haraka_dir, 0),
        "haraka-2w": lambda: S.Haraka(work, pb + 4, args.haraka_dir, 2),
        "qpsmtpd": lambda: S.Qpsmtpd(work, pb + 5),
        # pb + 6: asmtpd with spp (load f)
        "asmtpd-fwd": lambda: S.ForwardAsmtpd(work, pb + 8, args.asmtpd, sink_port=pb + 7),
        "asmtpd-tls": lambda: S.Asmtpd(work, pb + 9, args.asmtpd, name="asmtpd-tls", tls=S.tls_pair(work)[:2]),
        "haraka-tls": lambda: S.HarakaTls(work, pb + 10, args.haraka_dir, 0, S.tls_pair(work)),
        "haraka-tls-2w": lambda: S.HarakaTls(work, pb + 11, args.haraka_dir, 2, S.tls_pair(work)),
        "asmtpd-dns": lambda: dns_chain.AsmtpdChain(work, pb + 12, args.asmtpd),
        "asmtpd-proxy": lambda: dns_chain.AsmtpdChain(work, pb + 13, args.asmtpd, chain=False),
        "haraka-dns": lambda: dns_chain.HarakaChain(work, pb + 14, args.haraka_dir, 0),
        "haraka-dns-2w": lambda: dns_chain.HarakaChain(work, pb + 15, args.haraka_dir, 2),
        "asmtpd-dkim": lambda: dkim_load.AsmtpdDkim(work, pb + 16, args.asmtpd),
        "asmtpd-nodkim": lambda: dkim_load.AsmtpdDkim(work, pb + 17, args.asmtpd, verify=False),
        "asmtpd-dkim-2w": lambda: dkim_load.AsmtpdDkim(work, pb + 28, args.asmtpd, workers=2),
        "asmtpd-nodkim-2w": lambda: dkim_load.AsmtpdDkim(work, pb + 29, args.asmtpd, verify=False, workers=2),
        "asmtpd-milter": lambda: milter_load.MilterAsmtpd(work, pb + 18, args.asmtpd, milter_port=pb + 19),
        "asmtpd-milter-reuse": lambda: milter_load.MilterAsmtpd(work, pb + 26, args.asmtpd, milter_port=pb + 27,
                                                                reuse=64),
        "asmtpd-scan": lambda: scan_load.ScanAsmtpd(work, pb + 20, args.asmtpd, scan_daemons),
        "haraka-scan": lambda: scan_load.ScanHaraka(work, pb + 21, args.haraka_dir, scan_daemons),
        "asmtpd-m-redis": lambda: state_load.StateAsmtpd(work, pb + 22, args.asmtpd, "redis", redis_port=pb + 25),
        "asmtpd-m-embedded": lambda: state_load.StateAsmtpd(work, pb + 23, args.asmtpd, "embedded"),
        "asmtpd-b": lambda: S.Asmtpd(work, pb + 24, args.asmtpd, name="asmtpd-b"),
    }
    dns_chain.ChainClient.proxy_source = args.proxy_source
    unknown = [n for n in wanted if n not in all_servers]
    if unknown:
        ap.error(f"unknown server(s) {unknown}; known: {','.join(all_servers)}")
    skipped = {}
    if not S.have_haraka(args.haraka_dir):
        skipped.update({n: "Haraka not installed" for n in ("haraka", "haraka-2w", "haraka-tls", "haraka-tls-2w",
                                                           "haraka-dns", "haraka-dns-2w", "haraka-scan")})
    why = scan_load.scan_support.spamd_unavailable() or scan_load.scan_support.clamd_unavailable()
    if why:
        skipped.update({n: why for n in ("asmtpd-scan", "haraka-scan")})
    if not shutil.which("redis-server"):
        skipped["asmtpd-m-redis"] = "redis-server not installed (Debian redis-server)"
    if not S.have_qpsmtpd():
        skipped["qpsmtpd"] = "qpsmtpd not installed"

    results = {"meta": {
        "mode": "quick" if args.quick else "full", "reps": args.reps, "scale": args.scale,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "host": platform.node(), "cpus": os.cpu_count(),
        "kernel": platform.release(), "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "nofile": os.sysconf("SC_OPEN_MAX"), "versions": versions(args), "skipped": skipped,
        "memory_metric": "sum of VmRSS over the process tree; sum of Pss for asmtpd-2w, haraka-2w and qpsmtpd",
        "mb": "MB = 2^20 bytes of smtp-source payload (-l), headers not counted",
        "loads": load_ids,
    }, "loads": {}}
    net0 = procs.net_packets_off_loopback()
    t_start = time.monotonic()

    for load in load_ids:
        spec = L.LOADS[load]
        if spec["kind"] == "smtp":
            params = (f"{int(spec['msgs'] * args.scale)} msgs x {spec['size']} B, {spec['sessions']} sessions"
                      + (", reuse (-d)" if spec.get("reuse") else ""))
        elif spec["kind"] == "tls":
            params = (f"{int(spec['msgs'] * args.scale)} sessions"
                      + (f" x {spec['size']} B msg" if spec["mode"] == "msg" else ", handshake + QUIT")
                      + f", {spec['sessions']} at once, tls_client.py x{args.tls_procs}")
        else:
            params = f"{int(spec['conns'] * args.scale)} connections, held {args.hold}s"
        entry = {"title": spec["title"], "kind": spec["kind"], "params": params, "sessions": spec.get("sessions"),
                 "servers": {}}
        results["loads"][load] = entry
        if spec.get("spp"):
            srv = S.Asmtpd(work, pb + 6, args.asmtpd, spp=True)
            srv.prepare()
            ok, out = srv.check()
            if ok:
                entry["servers"].update(measure([srv], spec, args, logdir, load))
            else:
                lines = [x for x in out.splitlines() if x.strip()]
                # the problem line names the file and line; start-up log lines (timestamps) are noise
                probs = [x for x in lines if "spp" in x and not x[:4].isdigit()] or \
                    [x for x in lines if not x[:4].isdigit()] or lines or [""]
                first = probs[0]
                log(f"({load}) asmtpd: n/a (spp not built): {first}")
                entry["servers"]["asmtpd"] = {"na": f"n/a (spp not built): asmtpd --check: {first}"}
            entry["servers"]["uv_spawn raw"] = raw_spawn(args, spec, os.path.join(srv.cfg, "spp_noop.sh"),
                                                         srv.msg_scale)
            entry["ratios"] = {}
            continue
        mine = [n for n in wanted if n in spec["servers"]]
        for name in mine:
            if name in skipped:
                entry["servers"][name] = {"na": f"n/a ({skipped[name]})"}
        here = [all_servers[n]() for n in mine if n not in skipped]
        here = [x for x in here if x.only_loads is None or load in x.only_loads]
        try:
            entry["servers"].update(measure(here, spec, args, logdir, load))
        finally:
            scan_daemons.cleanup()
        entry["servers"] = {n: entry["servers"][n] for n in wanted if n in entry["servers"]}
        entry["ratios"] = report.ratios(load, entry, results["loads"])

    net1 = procs.net_packets_off_loopback()
    results["meta"].update({
        "seconds": round(time.monotonic() - t_start, 1),
        "loadavg_end": open("/proc/loadavg").read().split()[:3],
        "packets_off_loopback_during_run": {"rx": net1[0] - net0[0], "tx": net1[1] - net0[1],
                                            "note": "all interfaces but lo, whole machine"},
    })
    results["targets"] = [{"target": t, "measured": v, "pass": ok} for t, v, ok in report.targets(results)]

    # a smoke test never overwrites a full run, nor does a run of some loads
    stem = "results-quick" if args.quick else "results"
    if not args.quick and load_ids != list(L.LOADS):
        stem += "-" + "-".join(load_ids)
    json_path = os.path.join(work, stem + ".json")
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1)
    # the table reads targets as tuples
    view = dict(results, targets=[(t["target"], t["measured"], t["pass"]) for t in results["targets"]])
    report.print_table(view, sys.stdout)
    png = os.path.join(work, stem + ".png")
    err = report.write_chart(results, png, os.path.join(work, "chart-" + stem))
    m = results["meta"]
    print(f"\n{m['mode']} run, {m['reps']} rep(s), median; {m['seconds']} s; load average "
          f"{' '.join(m['loadavg_start'])} -> {' '.join(m['loadavg_end'])}; packets off loopback during the run "
          f"(whole machine): rx {m['packets_off_loopback_during_run']['rx']} tx {m['packets_off_loopback_during_run']['tx']}")
    print(f"wrote {json_path}" + (f"; chart: {err}" if err else f" and {png}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
