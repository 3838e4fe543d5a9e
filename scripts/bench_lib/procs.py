# procs.py - a server's process tree, its CPU seconds and its memory, read from /proc.
#
# CPU is utime+stime+cutime+cstime summed over the tree, so children a forking server has
# already reaped still count. Memory is VmRSS summed (single-process servers) or Pss summed
# from smaps_rollup (multi-process servers, where shared pages would be counted N times).
# Never signals anything: it only reads /proc. Owner: tooling (scripts/bench_lib/).
import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the comm field (index 0 = state), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    close = data.rfind(b")")
    return data[close + 2:].split()


def tree(root):
    """root and all its descendants (by ppid), as a list of pids; [] if root is gone."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(name)
        if f is None:
            continue
        children.setdefault(int(f[1]), []).append(int(name))
    if not os.path.exists(f"/proc/{root}"):
        return []
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def cpu_seconds(pids):
    total = 0
    for p in pids:
        f = _stat_fields(p)
        if f is None:
            continue
        # after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / CLK_TCK


def _rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_kb(pids, use_pss):
    reader = _pss_kb if use_pss else _rss_kb
    return sum(reader(p) for p in pids)


class Sampler:
    """Samples the tree's memory every `interval` s in a thread; keeps the peak and the last value."""

    def __init__(self, root, use_pss, interval=0.1):
        self.root, self.use_pss, self.interval = root, use_pss, interval
        self.peak_kb = 0
        self.last_kb = 0
        self.max_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        pids = tree(self.root)
        kb = memory_kb(pids, self.use_pss)
        self.last_kb = kb
        self.peak_kb = max(self.peak_kb, kb)
        self.max_procs = max(self.max_procs, len(pids))

    def _run(self):
        while not self._stop.is_set():
            t0 = time.monotonic()
            self._sample()
            # with many processes a sample takes a while; never spin
            self._stop.wait(max(0.02, self.interval - (time.monotonic() - t0)))

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def machine_ticks():
    """The whole machine's CPU time so far, from /proc/stat's first line: (total, idle, steal)
    in clock ticks. Idle counts iowait too; steal is time the hypervisor gave to someone else."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    v += [0] * (8 - len(v))
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    return sum(v[:8]), v[3] + v[4], v[7]


def machine_shares(before, after):
    """{'machine_idle_pct', 'machine_steal_pct'} between two machine_ticks() snapshots."""
    total = after[0] - before[0]
    if total <= 0:
        return {}
    return {"machine_idle_pct": round(100 * (after[1] - before[1]) / total, 1),
            "machine_steal_pct": round(100 * (after[2] - before[2]) / total, 1)}


def net_packets_off_loopback():
    """(rx, tx) packets summed over every interface but lo, from /proc/net/dev."""
    rx = tx = 0
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, data = line.split(":", 1)
            if name.strip() == "lo":
                continue
            v = data.split()
            rx += int(v[1])
            tx += int(v[9])
    return rx, tx


def tcp_established_to(port):
    """ESTABLISHED IPv4 connections whose remote end is 127.0.0.1:port (the client sides)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            v = line.split()
            if v[3] == "01" and v[2] == f"0100007F:{port:04X}":
                n += 1
    return n
