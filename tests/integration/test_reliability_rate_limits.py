"""Rate-limit storms: the API's limits cut to a tenth, many machines, every Retry-After honoured.

One module run's pacing is tested in this process (tests/support/in_process.py); the limits shared by the module
processes of one play, through ansible-playbook."""

import json
import time

import pytest

from tests.support.quarantine import LIST_ACTIONS, SHA1, WRITE, ids, outcomes, quarantine_in_process, seed, writes
from tests.support.reliability import arrival, describe_actions, one_action_each, outcome_counts, retry_margins

# Simulated seconds per real second, for the simulator and (MDE_TIME_SCALE) the module alike: five simulated
# minutes of throttling pass in about five real seconds.
SPEED = 60
# The shared-limits case: 120 writes from 10 processes; at 5 simulated seconds per real second they all start
# within the same simulated minute, so that processes pacing alone would overrun the API's 100 a minute.
HOSTS = 10
MACHINES_PER_HOST = 12
SHARED_SPEED = 5


def test_storm_of_429s_completes_with_one_action_per_machine(simulator, modules, wire, measured):
    """With 10 calls a minute allowed per API, a run on 50 machines completes: every machine gets exactly one
    action, and every retry arrives after the Retry-After of the 429 it follows (checked in simulated time)."""
    machines = seed(simulator, 50)
    simulator.configure(rate_limit_per_minute=10, clock_speed=SPEED)

    started = time.monotonic()
    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": SPEED})
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
    assert not run.failed, run.result
    assert outcomes(result) == {machine: "created" for machine in ids(machines)}
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))


@pytest.mark.parametrize("retry_after", ["0", "past"], ids=["retry-after-0", "retry-after-past-date"])
def test_retry_after_that_says_now_never_makes_a_hot_loop(simulator, modules, measured, retry_after):
    """Every read of existing actions is answered 429 with `Retry-After: 0` (or an HTTP date an hour past): the
    module waits at least a second with jittered backoff between attempts, gives up after a bounded number of
    them with the API's TooManyRequests, writes nothing and never sends more than 100 calls in a minute."""
    machines = seed(simulator, 1)
    simulator.configure(clock_speed=SPEED)
    # Bounded, so that a module that hammers the API still ends: after 200 refusals the reads go through.
    simulator.faults.add(LIST_ACTIONS, "throttle", retry_after=retry_after, times=200)

    run, result = quarantine_in_process(modules, machine_ids=ids(machines), env={"MDE_TIME_SCALE": SPEED})

    reads = [arrival(entry) for entry in simulator.log_for(route=LIST_ACTIONS)]
    gaps = [later - earlier for earlier, later in zip(reads, reads[1:])]
    busiest_minute = max(sum(start <= moment < start + 60 for moment in reads) for start in reads)
    measured("%d reads sent (%d answered 429), shortest gap %.1f simulated s, at most %d in a minute; %s" % (
        len(reads), simulator.counters.get(LIST_ACTIONS + " 429", 0), min(gaps, default=0), busiest_minute,
        result.get("msg") or outcome_counts(result)))

    assert len(reads) <= 8, "the throttled read was sent %d times" % len(reads)
    assert min(gaps) >= 1.0, "a retry came %.2f simulated s after the 429 that said 'now'" % min(gaps)
    assert busiest_minute <= 100
    assert run.failed and "TooManyRequests" in result["msg"] and LIST_ACTIONS in result["msg"], result.get("msg")
    assert not writes(simulator)


def test_one_play_over_many_hosts_shares_the_limits(simulator, ansible, tmp_path, measured):
    """A play with one module run per inventory host (10 hosts, 12 machines each, forks 10) makes 120 writes in
    well under a minute: the module processes pace together through a shared file next to the token cache, so
    the API's 100 calls a minute are never exceeded and no call is answered 429; every machine gets its action."""
    machines = seed(simulator, HOSTS * MACHINES_PER_HOST)
    simulator.configure(clock_speed=SHARED_SPEED)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "host-%02d" % number: {"machine_ids": ids(machines[number * MACHINES_PER_HOST:(number + 1) * MACHINES_PER_HOST])}
        for number in range(HOSTS)}}}), encoding="utf-8")

    run = ansible.playbook("quarantine_per_host.yml", extra_vars={"sha1": SHA1}, inventory=str(inventory), forks=HOSTS,
                           env={"MDE_TIME_SCALE": SHARED_SPEED})

    results = run.results_of("Quarantine this host's machines")
    created = sum(result.get("summary", {}).get("created", 0) for result in results)
    throttled = sum(entry["status"] == 429 for entry in simulator.request_log)
    moments = [arrival(entry) for entry in writes(simulator)]
    busiest_minute = max(sum(start <= moment < start + 60 for moment in moments) for start in moments)
    measured("%d module runs, created %d; %d writes, at most %d in a minute; %d answers 429; %d token requests" % (
        len(results), created, len(moments), busiest_minute, throttled, simulator.counters.get("token", 0)))

    assert run.rc == 0, run.output
    assert throttled == 0, "%d calls were answered 429" % throttled
    assert busiest_minute <= 100
    assert one_action_each(simulator, ids(machines)), describe_actions(simulator, ids(machines))
