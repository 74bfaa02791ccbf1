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

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mde.response.plugins.module_utils.action_results import named_machines
from ansible_collections.mde.response.plugins.module_utils.clock import clock_from_environment
from ansible_collections.mde.response.plugins.module_utils.connection_options import OPTIONS_BY_NAME, generate_argspec
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, InputError, MdeError, TransportError, permission_hint
from ansible_collections.mde.response.plugins.module_utils.proxies import ENVIRONMENT_PROXY_VARIABLES, proxy_secrets
from ansible_collections.mde.response.plugins.module_utils.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils import auth, pacing, transport
from ansible_collections.mde.response.plugins.module_utils.token_cache import prepare_cache_folder
from ansible_collections.mde.response.plugins.module_utils.api import DefenderClient

CONNECTION_ARGUMENT_SPEC = generate_argspec(env_fallback)


class DefenderModule(AnsibleModule):
    def __init__(self, argument_spec, **kwargs):
        # Before AnsibleModule's own checks, which may already fail.
        self._clients = []
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        if transport.REQUESTS_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib("requests"), exception=transport.REQUESTS_IMPORT_ERROR)
        if auth.MSAL_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib("msal"), exception=auth.MSAL_IMPORT_ERROR)
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

    def defender_client(self, pacing_listener=None):
        """The API client for the connection options; raises InputError for bad ones, before any request.

        ``pacing_listener(seconds, window_seconds, limit)`` is told of every wait for one of the API's limits."""
        settings = ConnectionSettings.from_options({name: self.params.get(name) for name in CONNECTION_ARGUMENT_SPEC})
        session = transport.build_session(settings)
        pacer = pacing.RateLimiter(clock=self.clock, shared_path=pacing.shared_pacing_path(settings, prepare_cache_folder(settings)),
                                   listener=pacing_listener)
        token_provider = auth.build_token_provider(settings, session, self.clock)
        for warning in settings.warnings:
            self.warn(warning)
        client = DefenderClient(transport.HttpTransport(settings, token_provider, session, clock=self.clock, pacer=pacer))
        self._clients.append(client)
        return client

    def exit_json(self, **kwargs: object) -> None:
        self._pass_on_client_warnings()
        super().exit_json(**kwargs)

    def fail_json(self, msg: str, **kwargs: object) -> None:
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

    def exit_with_results(self, result, allow_partial, fail_when_queued=False):
        """exit_json with every machine's result, or fail_json (with the same results) when machines failed (and, with
        ``fail_when_queued``, when actions wait for offline machines)."""
        for warning in result.warnings:
            self.warn(warning)
        queued = [entry for entry in result.actions if entry["outcome"] == "queued"]
        if queued:
            self.warn(_queued_message(queued))
        output = dict(changed=result.changed, summary=result.summary, actions=result.actions, file_known=result.file_known)
        failed = [entry for entry in result.actions if entry["outcome"] == "failed"] + (queued if fail_when_queued else [])
        if failed and not allow_partial:
            self.fail_json(msg=_failure_message(failed, len(result.actions)), **output)
        self.exit_json(**output)


def _queued_message(queued):
    return ("%d action(s) still Pending at the end of the wait are queued for offline machines: %s; Defender runs them when"
            " the machines next connect (see actions[].queued for each)" % (
                len(queued), named_machines(queued, lambda entry: "last seen %s" % (entry.get("queued") or {}).get("last_seen"))))


def _failure_message(failed, total):
    named = named_machines(failed, lambda entry: (entry.get("error") or {}).get("code") or "queued")
    permissions = [(entry.get("error") or {}).get("missing_permission") for entry in failed]
    hints = "".join("; the application lacks the permission %s: %s" % (permission, permission_hint(permission))
                    for permission in sorted(set(permissions) - {None}))
    if any(entry["outcome"] == "queued" for entry in failed):
        hints += "; the queued ones wait for offline machines (actions[].queued), which fail_when_queued=false accepts"
    # Accepting a partial result does not help machines refused for a missing permission: granting it does.
    partial = ", or set allow_partial=true to accept a partial result" if None in permissions else ""
    return "%d of %d machines failed: %s%s; see actions[].error for each%s" % (len(failed), total, named, hints, partial)
