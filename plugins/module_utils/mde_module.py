# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The only Ansible-aware piece of module_utils: AnsibleModule plus the shared connection options.

Modules build a DefenderModule with their own options; it adds the connection options (defined once in
connection_options.py, documented in plugins/doc_fragments/connection.py), builds the API client from them, and
turns the client code's errors and results into fail_json/exit_json. Everything it calls is plain Python.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterable

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mde.response.plugins.module_utils._client.clock import clock_from_environment
from ansible_collections.mde.response.plugins.module_utils._client.connection_options import OPTIONS_BY_NAME, generate_argspec
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, InputError, MdeError, TransportError
from ansible_collections.mde.response.plugins.module_utils._client.proxies import ENVIRONMENT_PROXY_VARIABLES, proxy_secrets
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.factory import PacingListener, build_client, missing_libraries

CONNECTION_ARGUMENT_SPEC = generate_argspec(env_fallback)


class DefenderModule(AnsibleModule):
    def __init__(self, argument_spec, **kwargs):
        # Before AnsibleModule's own checks, which may already fail.
        self._clients: list[DefenderClient] = []
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        for library, error in missing_libraries():
            self.fail_json(msg=missing_required_lib(library), exception=error)
        with self.failing_on_errors():
            self.clock, warning = clock_from_environment(os.environ)
        if warning:
            self.warn(warning)

    def _load_params(self):
        super()._load_params()
        # Registered before the arguments are checked: a failure on any option returns the module's arguments, and
        # Ansible masks these values wherever they appear, so a proxy URL shows its user, host and port only.
        variables = OPTIONS_BY_NAME["proxy_url"].env + ENVIRONMENT_PROXY_VARIABLES
        self.no_log_values.update(proxy_secrets(self.params.get("proxy_url"), *(os.environ.get(name) for name in variables)))

    def defender_client(self, pacing_listener: PacingListener | None = None,
                        write_gate: Callable[[], None] | None = None) -> DefenderClient:
        """The API client for the connection options; raises InputError for bad ones, before any request.

        ``pacing_listener(seconds, window_seconds, limit)`` is told of every wait for one of the API's limits;
        ``write_gate()`` is called before each write is sent and raises to keep it unsent (run_lease.py)."""
        settings = ConnectionSettings.from_options({name: self.params.get(name) for name in CONNECTION_ARGUMENT_SPEC})
        client = build_client(settings, self.clock, pacing_listener, write_gate)
        for warning in settings.warnings:
            self.warn(warning)
        self._clients.append(client)
        return client

    def exit_json(self, **kwargs: Any) -> None:
        self._pass_on_client_warnings()
        super().exit_json(**kwargs)

    def fail_json(self, msg: str, **kwargs: Any) -> None:
        self._pass_on_client_warnings()
        super().fail_json(msg=msg, **kwargs)

    def _pass_on_client_warnings(self) -> None:
        # A listing cut short says so however the module ends.
        for client in self._clients:
            for warning in client.warnings:
                self.warn(warning)
            client.warnings.clear()

    @contextlib.contextmanager
    def failing_on_errors(self):
        """Turn the client code's errors into a clean task failure: a message, never a traceback or a secret."""
        try:
            yield
        except InputError as error:
            self.fail_json(msg=str(error))
        except (ApiError, TransportError) as error:
            self.fail_json(msg=str(error), error=error.to_dict())
        except MdeError as error:
            self.fail_json(msg=str(error))

    def exit_with_outcome(self, result: Any) -> None:
        """finish with ``result.as_dict()`` after its warnings, failing when ``result.failure_message()`` says why
        (writes that stopped part way keep what they did in the result)."""
        self.finish(result.as_dict(), result.warnings, result.failure_message())

    def finish(self, output: dict[str, Any], warnings: Iterable[str] = (), failure: str | None = None) -> None:
        """exit_json with ``output`` after passing on ``warnings``, or fail_json with ``failure`` and the same output."""
        for warning in warnings:
            self.warn(warning)
        if failure:
            self.fail_json(msg=failure, **output)
        self.exit_json(**output)
