"""Run one command; write its wall time, peak RSS (KiB), exit code and CPU time (user and
system, seconds) to RESULT_FILE.

Linux keeps the peak RSS of the process a child was forked from when the child execs, so the
benchmark, which holds a seeded sandbox in memory, cannot measure its children's memory directly.
This launcher is small (started with -S, standard library only) and spawns the command itself.

    python -S benchmarks/spawn.py RESULT_FILE COMMAND [ARG...]
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    result, *command = argv
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    with open(result, "w", encoding="utf-8") as handle:
        cpu = usage.ru_utime + usage.ru_stime
        handle.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
