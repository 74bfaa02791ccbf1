"""docs/api-fidelity.md stays true: every switch it names exists, every switch is in it, every test it cites exists."""

import ast
import re
from dataclasses import fields
from pathlib import Path

from tests.simulator.config import SimulatorConfig

REPO = Path(__file__).resolve().parents[3]
LEDGER = REPO / "docs" / "api-fidelity.md"
# The ledger shortens test paths; these are the prefixes it uses.
PREFIXES = {"sim/": "tests/simulator/tests/", "int/": "tests/integration/", "unit/": "tests/unit/plugins/module_utils/"}
# Switches about the simulator itself, not about the real API's behaviour.
NOT_API_BEHAVIOUR = {"clock_speed", "latency_ms", "rate_limits_enabled", "pending_seconds", "in_progress_seconds", "token_lifetime_seconds",
                     "investigation_package_bytes"}


def ledger_rows():
    return [line for line in LEDGER.read_text(encoding="utf-8").splitlines() if line.startswith("| ") and not line.startswith("| behaviour")]


def test_every_api_switch_has_a_row_and_every_named_switch_exists():
    switches = {switch.name for switch in fields(SimulatorConfig)}
    switch_cells = " ".join(row.split(" | ")[4] for row in ledger_rows() if row.count(" | ") >= 5)
    # "`switch`: value, value" introduces a switch's values.
    assert set(re.findall(r"`([a-z0-9_]+)`:", switch_cells)) - switches == set()
    assert switches - NOT_API_BEHAVIOUR - set(re.findall(r"`([a-z0-9_]+)`", switch_cells)) == set()


def _test_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_cited_test_exists():
    cited = []
    for row in ledger_rows():
        current_file = None
        for reference in re.findall(r"`([^`]+)`", row.split(" | ")[-1]):
            path, _colons, name = reference.partition("::")
            if path.endswith(".py"):
                prefix = next((prefix for prefix in PREFIXES if path.startswith(prefix)), None)
                assert prefix, "unknown test path %s" % path
                current_file = REPO / (PREFIXES[prefix] + path[len(prefix):])
                assert current_file.exists(), current_file
            elif reference.startswith("test_"):
                name = reference
            else:
                continue
            if name:
                assert current_file is not None, reference
                cited.append((current_file, name))
    assert cited
    for path, name in cited:
        names = _test_names(path)
        matches = [test for test in names if test == name or (name.endswith("*") and test.startswith(name[:-1]))]
        assert matches, "%s cites %s::%s, which does not exist" % (LEDGER.name, path.relative_to(REPO), name)
