"""A module's main() run inside the test's process against a simulator, as ansible-playbook would run it.

Starting ansible-playbook costs seconds; the module's own work against the simulator costs a fraction of one. A
variant whose point is the module's behaviour (an API switch, an option matrix, an info filter) runs the module here:
the same argument parsing, environment fallbacks, no_log masking, warnings and exit_json/fail_json as in a real
task, over real HTTPS, with the result a playbook would register. One ansible-playbook run per user-facing path
stays in the integration suites, for what only Ansible itself does (templating, the callback, the exit code).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional
from unittest import mock

import yaml
from ansible.module_utils import _internal as module_internal
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

MODULES = "ansible_collections.mde.response.plugins.modules."
ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


@dataclass
class ModuleRun:
    """What one in-process run of a module returned: its result as a task would register it, and its warnings."""

    result: dict
    warnings: list = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))


class ModuleRunner:
    """Runs the collection's modules in-process against one simulator, each run with a fresh module state.

    The environment is the simulator's connection variables (as AWX's credential sets them) plus ``env``; a value
    of None removes a variable. ``cache_home`` is the token cache's folder, shared by the runs of one runner as
    ansible-playbook runs of one test share theirs."""

    def __init__(self, simulator: Any, cache_home: str) -> None:
        self.simulator = simulator
        self.cache_home = cache_home

    def environment(self, env: Optional[Mapping[str, Any]] = None) -> dict:
        environment = dict(os.environ)
        environment["XDG_CACHE_HOME"] = self.cache_home
        environment.update(self.simulator.connection_environment)
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = str(value)
        return environment

    def run(self, module: str, check: bool = False, env: Optional[Mapping[str, Any]] = None, **args: Any) -> ModuleRun:
        """Run ``module`` (its short name, e.g. ``machine_info``) with ``args`` as its task's options."""
        main = importlib.import_module(MODULES + module).main
        recorded: dict = {}

        def record(_module: basic.AnsibleModule, result: dict) -> None:
            recorded.update(result)

        module_args = dict(args, _ansible_check_mode=check)
        with _fresh_module_state(), mock.patch.dict(os.environ, self.environment(env), clear=True), \
                mock.patch.object(basic.AnsibleModule, "_record_module_result", record), patch_module_args(module_args):
            with contextlib.suppress(SystemExit):
                main()
            warnings = list(module_warnings.get_warning_messages())
        assert recorded, "%s returned no result" % module
        recorded.pop("warnings", None)
        recorded.pop("deprecations", None)
        return ModuleRun(recorded, warnings)


@contextlib.contextmanager
def _fresh_module_state() -> Iterator[None]:
    """A module process starts with no warnings and deprecations, and on the managed side of Ansible (where a warning
    is returned with the result rather than displayed): importing controller code in the same process flips that.

    These are private names of ansible-core's module side (2.19, the line every test runs on; the smoke tests of the
    other lines use no in-process run)."""
    with mock.patch.object(module_internal, "is_controller", False), \
            mock.patch.dict(module_warnings._global_warnings, clear=True), \
            mock.patch.dict(module_warnings._global_deprecations, clear=True):
        yield


def role_argument_errors(role: str, variables: Mapping[str, Any], entry_point: str = "main") -> list:
    """The messages with which a role's argument spec refuses ``variables``, as the check ansible-playbook runs before
    the role's first task makes them (ansible.builtin.validate_argument_spec); empty when it accepts them."""
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"][entry_point]["options"]
    provided = {name: value for name, value in variables.items() if name in options}
    return list(ArgumentSpecValidator(options).validate(provided, validate_role_argument_spec=True).error_messages)
