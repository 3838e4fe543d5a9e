# report.py - the results table (stdout), the target check, and the PNG bar chart (gnuplot).
#
# Reads only the results dict main.py builds; writes files only where it is told. The chart is
# drawn by gnuplot (Debian gnuplot-nox) from plain data files kept next to the PNG, so the
# numbers behind every bar can be looked at. Owner: tooling (scripts/bench_lib/).
import os
import shutil
import subprocess

SMTP_METRICS = ("msgs_per_s", "mb_per_s", "cpu_s", "cpu_us_per_msg", "peak_mem_kb", "client_cpu_s",
                # forwarding (g*) and STARTTLS (h*) loads only
                "delivered", "downstream_cpu_s", "downstream_sessions", "handshakes_per_s", "client_cores", "hs_p50_ms", "hs_p99_ms",
                # the DNS policy chain (i) only
                "dns_queries_per_msg", "dns_server_cpu_s",
                # content scanning (l) only: spamd's and clamd's CPU during the run
                "daemons_cpu_s", "daemons_cpu_us_per_msg",
                # the state store (m) only: redis-server's CPU and commands per message
                "redis_cpu_us_per_msg", "redis_cmds_per_msg",
                # the whole machine during the run: idle (a run that saturates nothing) and steal
                # (the hypervisor running another guest: it slows whichever run it falls in)
                "machine_idle_pct", "machine_steal_pct")


def _f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, (int, float)):
        return f"{v:,.{nd}f}"
    return str(v)


def haraka_best(servers, metric="msgs_per_s", names=("haraka", "haraka-2w")):
    """The better of the Haraka runs (the issue compares against 'best of 1 or 2 workers')."""
    best = None
    for name in names:
        m = servers.get(name, {}).get("median")
        if m and m.get(metric) is not None and (best is None or m[metric] > best[1][metric]):
            best = (name, m)
    return best


def ratios(load, entry, loads=None):
    """The load's ratios; `loads` (every load of the run) lets (i) compare with (b)."""
    s = entry["servers"]
    a = s.get("asmtpd", {}).get("median")
    out = {}
    if load == "i":
        return chain_ratios(entry, loads or {})
    if load == "j":
        return dkim_ratios(entry)
    if load == "k":
        return milter_ratios(entry, loads or {})
    if load == "l":
        return scan_ratios(entry)
    if load == "m":
        return state_ratios(entry)
    if load.startswith("g"):
        return forward_ratios(entry)
    if load.startswith("h"):
        return tls_ratios(entry)
    if not a:
        return out
    if entry["kind"] == "smtp":
        sink = s.get("smtp-sink", {}).get("median")
        if sink and sink.get("msgs_per_s"):
            out["asmtpd/smtp-sink"] = round(a["msgs_per_s"] / sink["msgs_per_s"], 3)
        hb = haraka_best(s)
        if hb:
            out["asmtpd/Haraka"] = round(a["msgs_per_s"] / hb[1]["msgs_per_s"], 3)
            out["Haraka used"] = hb[0]
        w2 = s.get("asmtpd-2w", {}).get("median")
        if w2:
            out["asmtpd-2w/asmtpd"] = round(w2["msgs_per_s"] / a["msgs_per_s"], 3)
    else:   # idle: memory held with every session open, lower is better for asmtpd
        for peer in ("smtp-sink", "haraka", "haraka-2w"):
            m = s.get(peer, {}).get("median")
            if m and m.get("held_mem_kb") and m.get("opened") == a.get("opened"):
                out[f"asmtpd/{peer} held memory"] = round(a["held_mem_kb"] / m["held_mem_kb"], 3)
    return out


def forward_ratios(entry):
    """Issue 4: the chain (smtp-source -> asmtpd -> smtp-sink) against smtp-sink alone, and
    for 1 MB messages the memory each message in flight adds to asmtpd."""
    s, out = entry["servers"], {}
    f = s.get("asmtpd-fwd", {})
    fm, sink = f.get("median"), s.get("smtp-sink", {}).get("median")
    if fm and sink and sink.get("msgs_per_s"):
        out["asmtpd-fwd/smtp-sink"] = round(fm["msgs_per_s"] / sink["msgs_per_s"], 3)
    if fm and f.get("fresh_mem_kb") is not None and entry.get("sessions"):
        out["asmtpd-fwd peak growth KiB per msg in flight"] = round(
            (fm["peak_mem_kb"] - f["fresh_mem_kb"]) / entry["sessions"], 1)
    return out


def tls_ratios(entry):
    """Issue 5: asmtpd over STARTTLS against the better Haraka (1 or 2 workers, tls plugin)."""
    s, out = entry["servers"], {}
    a = s.get("asmtpd-tls", {}).get("median")
    hb = haraka_best(s, names=("haraka-tls", "haraka-tls-2w"))
    if a and hb:
        out["asmtpd-tls/Haraka-tls"] = round(a["msgs_per_s"] / hb[1]["msgs_per_s"], 3)
        out["Haraka used"] = hb[0]
        if hb[1].get("cpu_us_per_msg") and a.get("cpu_us_per_msg"):
            out["Haraka/asmtpd server CPU per session"] = round(hb[1]["cpu_us_per_msg"] / a["cpu_us_per_msg"], 2)
    if a and a.get("client_cores") is not None:
        out["client cores busy (asmtpd run)"] = a["client_cores"]
        # one Python process cannot use more than one core: near it, the rate is the client's
        out["client-bound"] = a["client_cores"] >= 0.8
    return out


def chain_ratios(entry, loads):
    """Issue 11: the DNS policy chain against load (b) of the same run (smtp-source, no chain),
    against the same PROXY client without the chain, and against Haraka on the same chain."""
    s, out = entry["servers"], {}
    a = s.get("asmtpd-dns", {}).get("median")
    if not a:
        return out
    b = loads.get("b", {}).get("servers", {}).get("asmtpd", {}).get("median")
    if b and b.get("msgs_per_s"):
        out["asmtpd-dns/asmtpd (b)"] = round(a["msgs_per_s"] / b["msgs_per_s"], 3)
    base = s.get("asmtpd-proxy", {}).get("median")
    if base and base.get("msgs_per_s"):
        out["asmtpd-dns/asmtpd-proxy"] = round(a["msgs_per_s"] / base["msgs_per_s"], 3)
    hb = haraka_best(s, names=("haraka-dns", "haraka-dns-2w"))
    if hb:
        out["asmtpd-dns/Haraka-dns"] = round(a["msgs_per_s"] / hb[1]["msgs_per_s"], 3)
        out["Haraka used"] = hb[0]
        if hb[1].get("cpu_us_per_msg") and a.get("cpu_us_per_msg"):
            out["Haraka/asmtpd server CPU per msg"] = round(hb[1]["cpu_us_per_msg"] / a["cpu_us_per_msg"], 2)
    r = s["asmtpd-dns"].get("resolver")
    if r:
        out["asmtpd-dns resolver cache hit rate"] = r["cache_hit_rate"]
        out["asmtpd-dns resolver lookups/msg"] = r.get("lookups_per_msg")
    for name, srv in s.items():
        q = (srv.get("median") or {}).get("dns_queries_per_msg")
        if q is not None and name != "asmtpd-proxy":
            out[f"{name} DNS queries/msg"] = q
    return out


def dkim_ratios(entry):
    """Issue 12: signed 10 KB messages through the dkim plugin against the same load without
    it, and what the verification costs the server per message."""
    s, out = entry["servers"], {}
    for suffix in ("", "-2w"):   # the target's pair (one worker), then `workers: 2` (information)
        a = s.get("asmtpd-dkim" + suffix, {}).get("median")
        base = s.get("asmtpd-nodkim" + suffix, {}).get("median")
        if a and base and base.get("msgs_per_s"):
            out[f"asmtpd-dkim{suffix}/asmtpd-nodkim{suffix}"] = round(a["msgs_per_s"] / base["msgs_per_s"], 3)
        if a and base and a.get("cpu_us_per_msg") is not None and base.get("cpu_us_per_msg") is not None:
            out[f"asmtpd-dkim{suffix} server CPU us/msg"] = a["cpu_us_per_msg"]
            label = "dkim's server CPU us/msg" + (" (2w)" if suffix else "") + " (over base)"
            out[label] = round(a["cpu_us_per_msg"] - base["cpu_us_per_msg"], 1)
    return out


def milter_ratios(entry, loads):
    """Issue 13: load (b) through the milter plugin and an accept-all milter, against plain
    asmtpd on the same load in the same run (and load (b) when this run measured it)."""
    s, out = entry["servers"], {}
    a = s.get("asmtpd-milter", {}).get("median")
    base = s.get("asmtpd", {}).get("median")
    if a and base and base.get("msgs_per_s"):
        out["asmtpd-milter/asmtpd (b)"] = round(a["msgs_per_s"] / base["msgs_per_s"], 3)
    b = loads.get("b", {}).get("servers", {}).get("asmtpd", {}).get("median")
    if a and b and b.get("msgs_per_s"):
        out["asmtpd-milter/load (b) asmtpd"] = round(a["msgs_per_s"] / b["msgs_per_s"], 3)
    if a and base and a.get("cpu_us_per_msg") is not None and base.get("cpu_us_per_msg") is not None:
        out["milter plugin server CPU us/msg (over base)"] = round(a["cpu_us_per_msg"] - base["cpu_us_per_msg"], 1)
    r = s.get("asmtpd-milter-reuse", {}).get("median")
    if r and base and base.get("msgs_per_s"):
        out["asmtpd-milter-reuse/asmtpd (b)"] = round(r["msgs_per_s"] / base["msgs_per_s"], 3)
        if r.get("cpu_us_per_msg") is not None and base.get("cpu_us_per_msg") is not None:
            out["milter plugin with reuse server CPU us/msg (over base)"] = round(
                r["cpu_us_per_msg"] - base["cpu_us_per_msg"], 1)
    return out


def scan_ratios(entry):
    """Issue 13: content scanning through spamd and clamd, asmtpd's plugins against Haraka's on
    the same daemons, and what each server and the daemons cost per message."""
    s, out = entry["servers"], {}
    a = s.get("asmtpd-scan", {}).get("median")
    h = s.get("haraka-scan", {}).get("median")
    if a and h and h.get("msgs_per_s"):
        out["asmtpd-scan/haraka-scan"] = round(a["msgs_per_s"] / h["msgs_per_s"], 3)
    for name, m in (("asmtpd-scan", a), ("haraka-scan", h)):
        if m and m.get("cpu_us_per_msg") is not None:
            out[f"{name} server CPU us/msg"] = m["cpu_us_per_msg"]
        if m and m.get("daemons_cpu_us_per_msg") is not None:
            out[f"{name} spamd+clamd CPU us/msg"] = m["daemons_cpu_us_per_msg"]
    return out


def state_ratios(entry):
    """Issue 14: load (b) through karma, limit and greylisting on Redis and on the embedded
    store, against load (b)'s configuration in the same run, and what the store costs."""
    s, out = entry["servers"], {}
    b = s.get("asmtpd-b", {}).get("median")
    for name in ("asmtpd-m-redis", "asmtpd-m-embedded"):
        m = s.get(name, {}).get("median")
        if m and b and b.get("msgs_per_s"):
            out[f"{name}/asmtpd-b"] = round(m["msgs_per_s"] / b["msgs_per_s"], 3)
        if m and b and m.get("cpu_us_per_msg") is not None and b.get("cpu_us_per_msg") is not None:
            out[f"{name} server CPU us/msg (over asmtpd-b)"] = round(m["cpu_us_per_msg"] - b["cpu_us_per_msg"], 1)
        st = s.get(name, {}).get("store")
        if st:
            out[f"{name} store round trips/msg"] = st["round_trips_per_msg"]
    return out


def state_note(s, m):
    """The notes column of a load (m) row: the store's counters and redis-server's cost."""
    st = s.get("store")
    if not st:
        return ""
    out = (f"store ({st['backend']}): {_f(st['batches_per_msg'], 2)} batches, {_f(st['ops_per_msg'], 2)} ops,"
           f" {_f(st['round_trips_per_msg'], 2)} round trips per msg ({st['msgs']} msgs)")
    if m.get("redis_cpu_us_per_msg") is not None:
        out += (f"; redis-server CPU {_f(m['redis_cpu_us_per_msg'], 0)} us/msg,"
                f" {_f(m.get('redis_cmds_per_msg'), 2)} cmds/msg")
    if s.get("verified"):
        out += f"; verified: {len(s['verified'])} plugin checks x {next(iter(s['verified'].values()))} msgs"
    return out + "; "


def targets(results):
    """Issue 6's targets, each as (text, measured, pass) - pass None when it could not be measured."""
    L = results["loads"]
    med = lambda load, srv: L.get(load, {}).get("servers", {}).get(srv, {}).get("median")   # noqa: E731
    rows = []
    for load in ("a", "b", "e"):
        r = L.get(load, {}).get("ratios", {})
        for key, want in (("asmtpd/smtp-sink", 0.8), ("asmtpd/Haraka", 3.0)):
            v = r.get(key)
            rows.append((f"({load}) {key} >= {want}", v, None if v is None else v >= want))
    r = L.get("c", {}).get("ratios", {})
    v = r.get("asmtpd/smtp-sink")
    rows.append(("(c) asmtpd/smtp-sink MB/s >= 0.8", v, None if v is None else v >= 0.8))
    m = med("c", "asmtpd")
    v = None if not m else round(m["peak_mem_kb"] / 1024, 1)
    rows.append(("(c) asmtpd peak RSS < 64 MB", v, None if v is None else v < 64))
    m = med("d", "asmtpd")
    if m:
        rows.append(("(d) held RSS <= 100 MB", round(m["held_mem_kb"] / 1024, 1), m["held_mem_kb"] <= 100 * 1024))
        rows.append(("(d) <= 10 KiB per session", m["kib_per_conn"], m["kib_per_conn"] <= 10))
        rows.append(("(d) every banner within 1 s (max ms)", m["banner_max_ms"],
                     m["banners_over_1s"] == 0 and m["opened"] == L["d"]["servers"]["asmtpd"]["conns"]))
    else:
        rows += [("(d) idle sessions", None, None)]
    f, b = med("f", "asmtpd"), med("b", "asmtpd")
    v = round(f["msgs_per_s"] / b["msgs_per_s"], 3) if f and b else None
    rows.append(("(f) spp load / load (b) >= 0.5", v, None if v is None else v >= 0.5))
    raw = med("f", "uv_spawn raw")
    v = round(f["msgs_per_s"] / raw["msgs_per_s"], 3) if f and raw else None
    rows.append(("(f) spp rate / raw uv_spawn >= 0.7", v, None if v is None else v >= 0.7))
    for load in ("b", "e"):
        v = L.get(load, {}).get("ratios", {}).get("asmtpd-2w/asmtpd")
        rows.append((f"({load}) workers 2 / workers 1 >= 1.5", v, None if v is None else v >= 1.5))
    # issue 4: "a 100 MB message costs the daemon no more than a few hundred KiB"
    v = L.get("gc", {}).get("ratios", {}).get("asmtpd-fwd peak growth KiB per msg in flight")
    rows.append(("(gc) issue 4: KiB per 1 MB msg in flight <= 512", v, None if v is None else v <= 512))
    # issue 11: the DNS policy chain
    r = L.get("i", {}).get("ratios", {})
    for key, want in (("asmtpd-dns/asmtpd (b)", 0.7), ("asmtpd-dns/Haraka-dns", 3.0)):
        v = r.get(key)
        rows.append((f"(i) issue 11: {key} >= {want}", v, None if v is None else v >= want))
    # issue 12: DKIM verification of signed mail
    v = L.get("j", {}).get("ratios", {}).get("asmtpd-dkim/asmtpd-nodkim")
    rows.append(("(j) issue 12: asmtpd-dkim/asmtpd-nodkim >= 0.7", v, None if v is None else v >= 0.7))
    # issue 13: a persistent milter
    v = L.get("k", {}).get("ratios", {}).get("asmtpd-milter/asmtpd (b)")
    rows.append(("(k) issue 13: asmtpd-milter/asmtpd (b) >= 0.7", v, None if v is None else v >= 0.7))
    v = L.get("k", {}).get("ratios", {}).get("asmtpd-milter-reuse/asmtpd (b)")
    rows.append(("(k) issue 13, reuse 64: asmtpd-milter-reuse/asmtpd (b) >= 0.7", v, None if v is None else v >= 0.7))
    v = L.get("l", {}).get("ratios", {}).get("asmtpd-scan/haraka-scan")
    rows.append(("(l) issue 13: asmtpd-scan/haraka-scan >= 1", v, None if v is None else v >= 1))
    # issue 14: the plugins that keep state, on Redis and on the embedded store
    r = L.get("m", {}).get("ratios", {})
    for key, want in (("asmtpd-m-redis/asmtpd-b", 0.7), ("asmtpd-m-embedded/asmtpd-b", 0.8)):
        v = r.get(key)
        rows.append((f"(m) issue 14: {key} >= {want}", v, None if v is None else v >= want))
    # only the loads this run measured (a run of some loads says nothing of the others)
    return [r for r in rows if r[0][1:r[0].index(")")] in L]


def print_table(results, out):
    w = out.write
    hdr = f"{'server':<13} {'msgs/s':>9} {'MB/s':>8} {'CPU s':>7} {'us/msg':>7} {'peak MB':>8} {'cli CPU':>7}  notes"
    for load, entry in results["loads"].items():
        w(f"\n{entry['title']}   [{entry['params']}]\n{hdr}\n")
        for name, s in entry["servers"].items():
            m = s.get("median")
            if not m:
                w(f"{name:<13} {s.get('na') or 'FAILED: ' + s.get('error', '?')}\n")
                continue
            note = s.get("note", "")
            if entry["kind"] == "idle":
                w(f"{name:<13} {'-':>9} {'-':>8} {_f(m['cpu_s'], 2):>7} {'-':>7} {_f(m['peak_mem_kb'] / 1024):>8}"
                  f" {'-':>7}  {m['opened']}/{s['conns']} open, held {_f(m['held_mem_kb'] / 1024)} MB,"
                  f" {_f(m['kib_per_conn'], 2)} KiB/conn, banner p50 {_f(m['banner_p50_ms'], 2)} ms"
                  f" p99 {_f(m['banner_p99_ms'], 2)} max {_f(m['banner_max_ms'], 2)} ms; {note}\n")
            else:
                if entry["kind"] == "tls":
                    note = (f"{_f(m.get('handshakes_per_s'))} handshakes/s, handshake p50 {_f(m.get('hs_p50_ms'), 1)}"
                            f" p99 {_f(m.get('hs_p99_ms'), 1)} ms, client {_f(m.get('client_cores'), 2)} cores; " + note)
                elif m.get("dns_queries_per_msg") is not None:
                    r = s.get("resolver")
                    note = (f"DNS server: {_f(m['dns_queries_per_msg'], 3)} queries/msg, its CPU"
                            f" {_f(m.get('dns_server_cpu_s'), 2)} s"
                            + (f"; resolver: {r['lookups']} lookups ({_f(r.get('lookups_per_msg'), 2)}/msg),"
                               f" {r['cache_hits']} cached ({_f(100 * (r['cache_hit_rate'] or 0), 2)}%),"
                               f" {r['sent']} sent" if r else "")
                            + "; " + note)
                elif s.get("store"):
                    note = state_note(s, m) + note
                elif m.get("daemons_cpu_s") is not None:
                    note = (f"spamd+clamd CPU {_f(m['daemons_cpu_s'], 2)} s"
                            f" ({_f(m.get('daemons_cpu_us_per_msg'), 0)} us/msg); " + note)
                elif m.get("delivered") is not None:
                    note = (f"next hop took {m['delivered']:.0f}/run over {_f(m.get('downstream_sessions'), 0)} conns,"
                            f" smtp-sink CPU {_f(m.get('downstream_cpu_s'), 2)} s;"
                            f" fresh {_f(s.get('fresh_mem_kb', 0) / 1024)} MB; " + note)
                if m.get("machine_idle_pct") is not None:
                    note += (f"; machine idle {_f(m['machine_idle_pct'], 1)}%,"
                             f" steal {_f(m.get('machine_steal_pct'), 1)}% (medians)")
                w(f"{name:<13} {_f(m['msgs_per_s']):>9} {_f(m.get('mb_per_s'), 2):>8} {_f(m.get('cpu_s'), 2):>7}"
                  f" {_f(m.get('cpu_us_per_msg'), 0):>7} {_f(m['peak_mem_kb'] / 1024 if m.get('peak_mem_kb') else None):>8}"
                  f" {_f(m.get('client_cpu_s'), 2):>7}  {s.get('msgs', '')} msgs x{s.get('reps_ok', '')}; {note}\n")
        r = entry.get("ratios")
        if r:
            w("ratios: " + ", ".join(f"{k} = {v}" for k, v in r.items()) + "\n")
    if results.get("targets"):
        w("\ntargets (asmtpd; issue 6 unless named):\n")
    for text, v, ok in results.get("targets", []):
        mark = "n/a " if ok is None else ("PASS" if ok else "MISS")
        w(f"  {mark}  {text:<50} measured {v if v is not None else '-'}\n")


def write_chart(results, png, datadir):
    """PNG: msgs/s, MB/s (c), peak memory and CPU per message, bars per server. Returns an error or None."""
    gp = shutil.which("gnuplot")
    if not gp:
        return "gnuplot not installed"
    order = ["asmtpd", "asmtpd-2w", "asmtpd-fwd", "asmtpd-tls", "smtp-sink", "haraka", "haraka-2w", "haraka-tls",
             "haraka-tls-2w", "qpsmtpd", "uv_spawn raw", "asmtpd-dns", "asmtpd-proxy", "haraka-dns", "haraka-dns-2w",
             "asmtpd-dkim", "asmtpd-nodkim", "asmtpd-dkim-2w", "asmtpd-nodkim-2w", "asmtpd-milter", "asmtpd-milter-reuse", "asmtpd-scan", "haraka-scan",
             "asmtpd-m-redis", "asmtpd-m-embedded", "asmtpd-b"]
    servers = []
    for entry in results["loads"].values():
        for name, s in entry["servers"].items():
            if s.get("median") and name not in servers:
                servers.append(name)
    servers.sort(key=lambda n: order.index(n) if n in order else len(order))
    if not servers:
        return "no results to draw"
    os.makedirs(datadir, exist_ok=True)

    def table(path, loads, metric, scale=1.0):
        """Writes rows = loads, columns = servers that have a value here; returns those servers."""
        val = lambda load, srv: ((results["loads"][load]["servers"].get(srv) or {}).get("median") or {}).get(metric)  # noqa: E731
        cols = [s for s in servers if any(val(load, s) is not None for load in loads)]
        if cols:
            with open(path, "w") as f:
                f.write("load " + " ".join(f'"{s}"' for s in cols) + "\n")
                for load in loads:
                    vals = [val(load, s) for s in cols]
                    f.write(f"({load}) " + " ".join("NaN" if v is None else f"{v * scale:.3f}" for v in vals) + "\n")
        return cols

    palette = ["#9400d3", "#c71585", "#e07b00", "#4b0082", "#009e73", "#56b4e9", "#0072b2", "#f0e442",
               "#d4b000", "#7f7f7f", "#a0522d", "#e41a1c", "#ff7f00", "#377eb8", "#984ea3"]

    def color(srv):   # one colour per server in every panel
        return palette[(order.index(srv) if srv in order else len(order) + servers.index(srv)) % len(palette)]

    d = datadir
    panels = [   # (file, loads, metric, scale, title, log y)
        ("msgs.dat", "a b e f i m", "msgs_per_s", 1.0,
         "messages/s (1 KB loads; f: spawns/s for the raw loop; i: DNS policy chain; m: state)", False),
        ("mbs.dat", "c gc", "mb_per_s", 1.0, "MB/s, 1 MB messages (c; gc: forwarded)", False),
        ("fwd.dat", "g ge", "msgs_per_s", 1.0, "messages/s forwarded by asmtpd to smtp-sink vs smtp-sink alone", False),
        ("tls.dat", "h hh", "msgs_per_s", 1.0, "STARTTLS sessions/s (h: with a 1 KB message; hh: handshake only)", False),
        ("mem.dat", "a b c d e f g ge gc h hh i m", "peak_mem_kb", 1 / 1024,
         "peak memory, MB (RSS; PSS when multi-process), log y", True),
        ("cpu.dat", "a b c e f g ge gc h hh i m", "cpu_us_per_msg", 1.0, "server CPU per message (h: per session), us, log y", True),
    ]
    body = []
    for fname, loads, metric, scale, title, logy in panels:
        loads = [x for x in loads.split() if x in results["loads"]]
        used = table(f"{d}/{fname}", loads, metric, scale) if loads else []
        if not used:
            continue
        cols = ", ".join(f"'{d}/{fname}' using {i + 2}:xtic(1) title columnhead({i + 2}) lc rgb '{color(srv)}'"
                         for i, srv in enumerate(used))
        body.append(f"set title '{title}'\n" + ("set logscale y\nset yrange [*:*]\n" if logy else "unset logscale y\nset yrange [0:*]\n") + "plot " + cols)
    if not body:
        return "no results to draw"
    rows = (len(body) + 1) // 2
    script = f"""
set terminal pngcairo size 1400,{450 * rows} font ',10' noenhanced
set output '{png}'
set datafile missing 'NaN'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top left font ',8'
set grid ytics
set multiplot layout {rows},2 title 'asmtpd vs peers on 127.0.0.1 (median of runs; {results['meta'].get('mode')} mode)'
""" + "\n".join(body) + "\nunset multiplot\n"
    with open(f"{d}/chart.gp", "w") as f:
        f.write(script)
    r = subprocess.run([gp, f"{d}/chart.gp"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return "gnuplot failed: " + r.stdout[-300:]
    return None


def main(argv):
    """report.py RESULTS.json: print the table of an earlier run again and redraw its chart."""
    import json
    import sys
    path = argv[1]
    with open(path) as f:
        results = json.load(f)
    # ratios and targets from the stored medians with today's rules (the file is not rewritten)
    for load, entry in results["loads"].items():
        if load != "f" and "kind" in entry:
            entry["ratios"] = ratios(load, entry, results["loads"])
    view = dict(results, targets=targets(results))
    print_table(view, sys.stdout)
    png = os.path.splitext(path)[0] + ".png"
    err = write_chart(results, png, os.path.join(os.path.dirname(path), "chart-" + os.path.basename(png)[:-4]))
    print(f"chart: {err}" if err else f"chart: {png}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
