"""Run every check of `make test` and end with one `N passed, M failed` line.

pytest stages count their test cases (from their JUnit report); every other stage (sanity, lint, docs lint,
...) counts as one check. All stages run even when an earlier one fails, so one run shows every problem.

Usage: python tests/tools/run_all.py [--lane] STAGE_NAME=COMMAND [STAGE_NAME=COMMAND ...] [--lane STAGE_NAME=COMMAND ...]
A stage whose name starts with "pytest" must write its JUnit report to build/junit/<name>.xml.

Without --lane the stages run one after another, their output shown as it comes. Each --lane starts a list of
stages that run one after another while the other lanes run beside it: the longest stage (the integration tests,
which spend much of their time waiting for simulated time and for ansible-playbook processes) gets a lane of its
own, and the other stages share one. A lane's stages may then depend on each other (a virtualenv one builds and the
next uses), never on another lane's. With lanes, each stage's output goes to build/logs/<name>.log and is shown
when the stage ends, so that the output of two stages never interleaves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import List, Optional, Tuple
from xml.etree import ElementTree

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = os.path.join(REPO, "build", "logs")
LANE = "--lane"

Counts = Tuple[int, int, int, float]


def junit_counts(path: str) -> Tuple[int, int, int]:
    """(passed, failed, skipped) from a pytest JUnit report."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_stage(name: str, command: str, log: Optional[str] = None) -> Counts:
    """Run one stage; its output goes to the console, or into ``log`` when given."""
    started = time.monotonic()
    if log is None:
        print("\n===== %s: %s" % (name, command), flush=True)
        status = subprocess.call(command, shell=True, cwd=REPO)
    else:
        with open(log, "w", encoding="utf-8") as output:
            status = subprocess.call(command, shell=True, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    if name.startswith("pytest"):
        report = os.path.join(REPO, "build", "junit", name + ".xml")
        if os.path.exists(report):
            passed, failed, skipped = junit_counts(report)
            # A crash after the report was written (or an error outside test cases) still fails the stage.
            if status not in (0, 1) and failed == 0:
                failed = 1
            return passed, failed, skipped, elapsed
        return 0, 1, 0, elapsed
    return (1, 0, 0, elapsed) if status == 0 else (0, 1, 0, elapsed)


def parse_lanes(argv: List[str]) -> List[List[Tuple[str, str]]]:
    """The stages of each lane, in order; without --lane, one lane with every stage."""
    lanes: List[List[Tuple[str, str]]] = []
    for arg in argv:
        if arg == LANE or not lanes:
            lanes.append([])
        if arg != LANE:
            name, command = arg.split("=", 1)
            lanes[-1].append((name, command))
    return [lane for lane in lanes if lane]


def run_lanes(lanes: List[List[Tuple[str, str]]]) -> dict:
    """Run the lanes side by side; each stage's output is shown, whole, when it ends."""
    os.makedirs(LOGS, exist_ok=True)
    results: dict = {}
    console = threading.Lock()

    def run_lane(lane: List[Tuple[str, str]]) -> None:
        for name, command in lane:
            log = os.path.join(LOGS, name + ".log")
            with console:
                print("===== started %s: %s (output in %s)" % (name, command, os.path.relpath(log, REPO)), flush=True)
            results[name] = run_stage(name, command, log)
            with console:
                print("\n===== %s: %s" % (name, command), flush=True)
                with open(log, encoding="utf-8", errors="replace") as output:
                    sys.stdout.write(output.read())
                print("===== %s ended after %.0f s" % (name, results[name][3]), flush=True)

    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main(argv: List[str]) -> int:
    lanes = parse_lanes(argv)
    started = time.monotonic()
    if len(lanes) == 1:
        results = {name: run_stage(name, command) for name, command in lanes[0]}
    else:
        results = run_lanes(lanes)
    totals = [0, 0, 0]
    print("\n===== summary")
    for name, _command in [stage for lane in lanes for stage in lane]:
        passed, failed, skipped, elapsed = results[name]
        totals[0] += passed
        totals[1] += failed
        totals[2] += skipped
        verdict = "ok" if failed == 0 else "FAILED"
        print("%-22s %-6s %4d passed %3d failed %3d skipped %6.0f s" % (name, verdict, passed, failed, skipped, elapsed))
    print("%d passed, %d failed, %d skipped in %.0f s" % (*totals, time.monotonic() - started))
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
