"""`make bench`: run the benchmark's scenarios against the simulator and write the report.

Results always go to <workdir>/results.json and <workdir>/performance-section.md; a run of every scenario also
rewrites docs/performance.json and the generated section of docs/performance.md, and so does a run of some scenarios
with --record, whose runs then replace those scenarios' earlier ones there while the others stay as they were measured.
"""

import argparse
import os
import shutil
import sys
import time
from dataclasses import replace

from tests.bench import report
from tests.bench.harness import BenchError
from tests.bench.scenarios import CLOSE_TO_FLOOR_CLOCK_SPEED, DEFAULT_CLOCK_SPEED, all_scenarios

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(REPO, "docs")


def parse_arguments(argv=None):
    names = [name for name, _scenario in all_scenarios()]
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=names, help="run only this scenario (repeatable); default: all")
    parser.add_argument("--clock-speed", type=float, default=DEFAULT_CLOCK_SPEED,
                        help="simulated seconds per real second in the runs that wait for rate-limit windows "
                             "(at most %g in the isolation and response scenarios)" % CLOSE_TO_FLOOR_CLOCK_SPEED)
    parser.add_argument("--record", action="store_true",
                        help="also record the runs in docs/performance.json and .md, replacing the earlier runs of these scenarios")
    parser.add_argument("--workdir", default=os.path.join(REPO, "build", "bench"), help="where runs and results go")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    scenarios = [(name, scenario) for name, scenario in all_scenarios(arguments.clock_speed)
                 if not arguments.scenario or name in arguments.scenario]
    measurements = []
    started = time.monotonic()
    for name, scenario in scenarios:
        workdir = os.path.join(arguments.workdir, name)
        # Fleets refuse a used folder: the runner appends to result files that a previous benchmark left.
        shutil.rmtree(workdir, ignore_errors=True)
        print("== %s" % name, flush=True)
        try:
            results = scenario(workdir)
        except BenchError as error:
            sys.exit("benchmark scenario %s failed: %s" % (name, error))
        results = [replace(measurement, bench_scenario=name) for measurement in results]
        for measurement in results:
            print("   %-16s %-20s %s, %s, 429s %d, wall %.1f s" % (
                measurement.scenario, measurement.run, report.duration_text(measurement.duration_seconds),
                report.calls_text(measurement), measurement.throttled, measurement.wall_seconds), flush=True)
        measurements.extend(results)
    results = report.build(measurements, arguments.clock_speed)
    section = report.markdown(results, measurements)
    report.write_json(os.path.join(arguments.workdir, "results.json"), results)
    with open(os.path.join(arguments.workdir, "performance-section.md"), "w", encoding="utf-8") as handle:
        handle.write(section + "\n")
    every_scenario = len(scenarios) == len(all_scenarios())
    if every_scenario or arguments.record:
        recorded_path = os.path.join(DOCS, "performance.json")
        recorded = measurements if every_scenario else report.merged(report.read_json(recorded_path), measurements)
        recorded_results = report.build(recorded, arguments.clock_speed)
        report.write_json(recorded_path, recorded_results)
        path = os.path.join(DOCS, "performance.md")
        with open(path, encoding="utf-8") as handle:
            document = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(report.splice(document, report.markdown(recorded_results, recorded)))
    print("\n" + section)
    print("\nbenchmark finished in %.0f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
