"""The benchmark's containment scenario on a small fleet: one indicator call, then actions on the observed machines only."""

from tests.bench.harness import INDICATOR_WRITE, Fleet
from tests.bench.report import Targets
from tests.bench.scenarios import CONTAIN
from tests.support.quarantine import WRITE


def test_contain_writes_one_indicator_then_acts_on_the_observed_machines_only(tmp_path):
    with Fleet(str(tmp_path / "fleet"), 20, observed=3) as fleet:
        contained = fleet.measure("smoke", CONTAIN, "contain.yml")

    assert contained.calls[INDICATOR_WRITE] == 1 and contained.writes == 3 and contained.throttled == 0
    assert contained.actions_per_machine == {"0": 17, "1": 3}
    assert set(contained.milestones) == {INDICATOR_WRITE, WRITE}
    assert 0 < contained.milestones[INDICATOR_WRITE] < contained.milestones[WRITE] <= contained.wall_seconds


def test_the_containment_targets_stay_open_until_both_fleets_are_measured():
    verdicts = {verdict.target: verdict for verdict in Targets([]).verdicts()}
    containment = [verdict for target, verdict in verdicts.items() if target.startswith("Containment")]
    assert len(containment) == 2 and all(verdict.met is None for verdict in containment)
