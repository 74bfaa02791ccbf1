"""Run every check of `make test` in turn and end with one `N passed, M failed` line.

pytest stages count their test cases (from their JUnit report); every other stage (sanity, lint, docs lint,
...) counts as one check. All stages run even when an earlier one fails, so one run shows every problem.
Usage: python tests/tools/run_all.py STAGE_NAME=COMMAND [STAGE_NAME=COMMAND ...]; a stage whose name starts
with "pytest" must write its JUnit report to build/junit/<name>.xml.
"""

import os
import subprocess
import sys
import time
from xml.etree import ElementTree

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def junit_counts(path):
    """(passed, failed, skipped) from a pytest JUnit report."""
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_stage(name, command):
    print("\n===== %s: %s" % (name, command), flush=True)
    started = time.monotonic()
    status = subprocess.call(command, shell=True, cwd=REPO)
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


def main(argv):
    stages = [arg.split("=", 1) for arg in argv]
    totals = [0, 0, 0]
    lines = []
    for name, command in stages:
        passed, failed, skipped, elapsed = run_stage(name, command)
        totals[0] += passed
        totals[1] += failed
        totals[2] += skipped
        verdict = "ok" if failed == 0 else "FAILED"
        lines.append("%-22s %-6s %4d passed %3d failed %3d skipped %6.0f s" % (name, verdict, passed, failed, skipped, elapsed))
    print("\n===== summary")
    for line in lines:
        print(line)
    print("%d passed, %d failed, %d skipped" % tuple(totals))
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
