"""tests/tools/run_all.py, which runs the stages of `make test`: lanes side by side, a lane's stages in turn, every
stage's output whole, and the counts and verdict of the summary."""

import subprocess
import sys
import time

from tests.ecosystem.tools import REPO

RUN_ALL = [sys.executable, "tests/tools/run_all.py"]


def run_all(*stages):
    started = time.monotonic()
    completed = subprocess.run(RUN_ALL + list(stages), cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    return completed, time.monotonic() - started


def summary_rows(output):
    rows = output.split("===== summary\n")[1].splitlines()
    return {row.split()[0]: row.split()[1] for row in rows[:-1]}, rows[-1]


def test_lanes_run_side_by_side_and_a_lanes_stages_in_turn():
    completed, elapsed = run_all("--lane", "slow=sleep 2; echo slow-out",
                                 "--lane", "first=sleep 1; echo first-out | tr a-z A-Z; echo first-more | tr a-z A-Z", "second=cat build/logs/first.log")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert elapsed < 3.5, "the lanes did not run at the same time: %.1f s" % elapsed
    output = completed.stdout
    # The second stage of a lane starts after the first has ended (it reads the first one's whole log).
    assert output.count("FIRST-OUT\nFIRST-MORE\n") == 2
    # Each stage's output comes whole, after its header (the commands, upper-cased, are not the output).
    assert output.index("===== first: ") < output.index("FIRST-OUT") < output.index("===== first ended")
    assert summary_rows(output) == ({"slow": "ok", "first": "ok", "second": "ok"}, summary_rows(output)[1])
    assert summary_rows(output)[1].startswith("3 passed, 0 failed, 0 skipped in ")


def test_a_failed_stage_fails_the_run_and_the_others_still_run():
    completed, _elapsed = run_all("--lane", "broken=exit 3", "after=echo still-ran", "--lane", "other=true")

    assert completed.returncode == 1
    assert "still-ran" in completed.stdout
    rows, total = summary_rows(completed.stdout)
    assert rows == {"broken": "FAILED", "after": "ok", "other": "ok"}
    assert total.startswith("2 passed, 1 failed, 0 skipped in ")


def test_without_lanes_the_stages_run_in_turn_with_their_output_as_it_comes():
    completed, _elapsed = run_all("one=echo one-out | tr a-z A-Z", "two=echo two-out")

    assert completed.returncode == 0
    assert completed.stdout.index("===== one: ") < completed.stdout.index("ONE-OUT") < completed.stdout.index("===== two: ")
    assert "started" not in completed.stdout
    assert summary_rows(completed.stdout)[0] == {"one": "ok", "two": "ok"}
