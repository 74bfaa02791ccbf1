#!/usr/bin/env python
"""Python interpreter stand-in for the benchmark: runs the real interpreter and records its peak memory.

Ansible starts each module as ``<interpreter> AnsiballZ_<module>.py`` and AnsiballZ runs the module inside that
process, so the peak resident set size of the one child started here is the module's. It is appended, in KiB,
to the file named by MDE_BENCH_RSS_FILE; MDE_BENCH_PYTHON names the real interpreter.
"""

import os
import resource
import subprocess
import sys


def main():
    completed = subprocess.run([os.environ["MDE_BENCH_PYTHON"]] + sys.argv[1:], check=False)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # One short append per process: O_APPEND keeps the lines of parallel forks whole.
    with open(os.environ["MDE_BENCH_RSS_FILE"], "a", encoding="utf-8") as handle:
        handle.write("%d\n" % peak_kib)
    sys.exit(completed.returncode)


if __name__ == "__main__":
    main()
