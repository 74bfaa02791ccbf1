"""MachineActionEngine.run's last step (``then``): it sees the finished results and runs before the progress says done."""

from __future__ import annotations

from ansible_collections.mde.response.plugins.module_utils._actions.engine import MachineActionEngine
from ansible_collections.mde.response.plugins.module_utils._actions.kind import Targets
from ansible_collections.mde.response.plugins.module_utils._actions.run_progress import DONE, RunProgress
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._quarantine.file_action import QuarantineKind
from ansible_collections.mde.response.plugins.module_utils._quarantine.request import QuarantineRequest
from ansible_collections.mde.response.tests.unit.plugins.module_utils.fake_defender import (
    SHA1,
    FakeClock,
    FakeDefenderApi,
    make_machine,
)


def test_the_last_step_runs_on_the_results_before_the_progress_is_done():
    api = FakeDefenderApi(FakeClock(), machines=[make_machine(1)])
    progress = RunProgress(None, api.clock)
    engine = MachineActionEngine(DefenderClient(api), api.clock, progress=progress)
    seen = []

    def last_step(result):
        seen.append((progress.snapshot()["phase"], [entry["outcome"] for entry in result.actions]))
        result.warnings.append("downloaded")
        return result

    request = QuarantineRequest.from_options({"sha1": SHA1, "comment": "INC-1", "machine_ids": [make_machine(1)["id"]]})
    result = engine.run(QuarantineKind(request, api.clock.now()), Targets(request.machine_ids), then=last_step)
    assert len(seen) == 1 and seen[0][0] != DONE and seen[0][1] == ["created"]
    assert result.warnings == ["downloaded"] and progress.snapshot()["phase"] == DONE
