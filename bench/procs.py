"""What the benchmarks read of running processes, from /proc: trees, memory, CPU time."""

import collections
import os
import threading
from pathlib import Path


def process_tree(top):
    """``top`` and every process below it (a gunicorn master and its workers, a worker
    and its task process)."""
    parents = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    pids, todo = [], [top]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(parents.get(pid, []))
    return pids


def pids_named(name):
    """Every process whose command name is ``name`` (postgres backends, redis-server)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def rss_kb(pid):
    """A process's resident memory (VmRSS) in KiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids):
    """User + system CPU seconds the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """The summed VmRSS of ``top``'s process tree every 0.1 s (re-read each time: a task
    process comes and goes), its peak, and the largest single process."""

    def __init__(self, top):
        super().__init__(daemon=True)
        self.top = top
        self.before_kb = sum(rss_kb(pid) for pid in process_tree(top))
        self.peak_kb = 0
        self.peak_process_kb = 0
        self.peak_processes = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            pids = process_tree(self.top)
            values = [rss_kb(pid) for pid in pids]
            if sum(values) > self.peak_kb:
                self.peak_kb, self.peak_processes = sum(values), len(pids)
            self.peak_process_kb = max(self.peak_process_kb, max(values, default=0))
            self.samples += 1
            self.halt.wait(0.1)  # the sampling interval; returns at once when halted
