"""Rate-limit storms: the API's limits cut to a tenth, many machines, every Retry-After honoured."""

import time

from tests.support.quarantine import WRITE, ids, outcomes, quarantine, seed
from tests.support.reliability import arrival, describe_actions, one_action_each, outcome_counts, retry_margins

# Simulated seconds per real second, for the simulator and (MDE_TIME_SCALE) the module alike: five simulated
# minutes of throttling pass in about five real seconds.
SPEED = 60


def test_storm_of_429s_completes_with_one_action_per_machine(simulator, ansible, wire, measured):
    """With 10 calls a minute allowed per API, a run on 50 machines completes: every machine gets exactly one
    action, and every retry arrives after the Retry-After of the 429 it follows (checked in simulated time)."""
    machines = seed(simulator, 50)
    simulator.configure(rate_limit_per_minute=10, clock_speed=SPEED)

    started = time.monotonic()
    run, result = quarantine(ansible, machine_ids=ids(machines), env={"MDE_TIME_SCALE": SPEED})
    elapsed = time.monotonic() - started

    log = simulator.request_log
    throttled = sum(entry["status"] == 429 for entry in log)
    margins = retry_margins(simulator, wire)
    longest_streak = max(map(len, wire.retry_afters().values()), default=0)
    # Machines not done, with the number of 429 answers their write got.
    gave_up = {entry["machine_id"]: sum(call["status"] == 429 for call in log if entry["machine_id"] in call["path"])
               for entry in result["actions"] if entry["outcome"] != "created"}
    measured("%s; %s; %d answers 429 (%d to writes), up to %d for one call; every retry came %.1f s or more after "
             "its Retry-After; %.0f simulated s, %.1f real s" % (
                 outcome_counts(result), describe_actions(simulator, ids(machines)), throttled,
                 simulator.counters.get(WRITE + " 429", 0), longest_streak, min(margins, default=float("inf")),
                 arrival(log[-1]) - arrival(log[0]), elapsed))

    assert throttled > 0, "the storm did not happen: nothing was throttled"
    assert min(margins, default=0) >= 0, "a retry arrived %.2f simulated seconds before its Retry-After had passed" % -min(margins)
    assert not gave_up, "machines given up after that many 429s, while the API only asked to wait: %s" % gave_up
    assert run.rc == 0, run.output
    assert outcomes(result) == {machine: "created" for machine in ids(machines)}
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
