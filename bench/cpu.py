"""CPU seconds used so far by process trees: each root's own time, its live descendants' and
what its exited children left in cutime/cstime. Usage: python bench/cpu.py NAME=PID ...
(prints NAME seconds per line)."""

import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                tree.setdefault(int(stat(int(entry))[1]), []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return tree


def tree_seconds(root: int, tree: dict[int, list[int]]) -> float:
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            fields = stat(pid)
        except FileNotFoundError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of /proc/PID/stat (11-14 after the name).
        total += sum(int(value) for value in fields[11:15])
        stack.extend(tree.get(pid, []))
    return total / TICK


if __name__ == "__main__":
    tree = children()
    for argument in sys.argv[1:]:
        name, _, pids = argument.partition("=")
        print(f"{name} {sum(tree_seconds(int(pid), tree) for pid in pids.split(',') if pid):.2f}")
