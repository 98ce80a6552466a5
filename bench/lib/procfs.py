#!/usr/bin/env python3
"""Reads /proc for one process tree: a proxy is its root PID plus every descendant (nginx: master
and worker; HAProxy and portier: one process whose /proc/<pid>/stat already sums its threads).

  procfs.py pids PID       the tree, one PID a line, root first
  procfs.py cpu PID        utime+stime of the tree in clock ticks (stat fields 14 and 15)
  procfs.py hwm PID        peak RSS of the tree in KiB (sum of VmHWM)
  procfs.py live PID...    those PIDs that still exist and are not zombies
  procfs.py sample SERVER_CPU CLIENT_CPU PID...
                           on one line: busy ticks of SERVER_CPU, busy and total ticks of
                           CLIENT_CPU (0 for a CPU given as -), then each PID's tree CPU ticks,
                           then the user-mode part of the first PID's (utime alone)

A process that exits while we read counts as absent. The kernel here has no
/proc/<pid>/task/<tid>/children, so descendants come from scanning every stat's ppid.
"""
import os
import sys


def stat_fields(pid):
    """Fields 3.. of /proc/<pid>/stat (comm, field 2, may hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            children.setdefault(int(stat_fields(name)[1]), []).append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    pids, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def cpu_ticks(root, user_only=False):
    total = 0
    for pid in tree(root):
        try:
            fields = stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11])  # field 14, utime
        if not user_only:
            total += int(fields[12])  # field 15, stime
    return total


def hwm_kib(root):
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def cpu_times(cpu):
    """(busy, total) ticks of one CPU; busy is all but idle and iowait, steal included since
    that time is lost too. (0, 0) for "-", the unpinned case."""
    if cpu == "-":
        return 0, 0
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields[0] == f"cpu{cpu}":
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[1:9])
                busy = user + nice + system + irq + softirq + steal
                return busy, busy + idle + iowait
    raise ValueError(f"no cpu{cpu} in /proc/stat")


def live(pids):
    alive = []
    for pid in pids:
        try:
            if stat_fields(pid)[0] != "Z":
                alive.append(pid)
        except OSError:
            continue
    return alive


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    if argv[1] == "sample":
        print(cpu_times(argv[2])[0], *cpu_times(argv[3]), *(cpu_ticks(int(p)) for p in argv[4:]),
              cpu_ticks(int(argv[4]), user_only=True) if len(argv) > 4 else 0)
        return
    cmd, pids = argv[1], [int(p) for p in argv[2:]]
    if cmd == "pids":
        print(*tree(pids[0]), sep="\n")
    elif cmd == "cpu":
        print(cpu_ticks(pids[0]))
    elif cmd == "hwm":
        print(hwm_kib(pids[0]))
    elif cmd == "live":
        for pid in live(pids):  # nothing at all, not an empty line, when none is left
            print(pid)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
