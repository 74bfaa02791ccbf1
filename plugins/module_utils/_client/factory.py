# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way to build a DefenderClient from settings, for the modules and the event source alike.

Both get the same session (TLS, proxy), token provider, retry policy and pacing shared by every process of one
application, so that what one of them is told about the API holds for the other.
"""

from __future__ import annotations

from typing import Callable, Optional

from ansible_collections.mde.response.plugins.module_utils._client import auth, session
from ansible_collections.mde.response.plugins.module_utils._client.api import DefenderClient
from ansible_collections.mde.response.plugins.module_utils._client.clock import Clock
from ansible_collections.mde.response.plugins.module_utils._client.pacing import PacingListener, RateLimiter, shared_pacing_path
from ansible_collections.mde.response.plugins.module_utils._client.settings import ConnectionSettings
from ansible_collections.mde.response.plugins.module_utils._client.token_cache import prepare_cache_folder
from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport


def missing_libraries() -> list[tuple[str, str]]:
    """(library, the traceback of its failed import) for each library the client needs that is not installed."""
    return [(name, error) for name, error in (("requests", session.REQUESTS_IMPORT_ERROR), ("msal", auth.MSAL_IMPORT_ERROR))
            if error]


def build_client(settings: ConnectionSettings, clock: Clock, pacing_listener: Optional[PacingListener] = None,
                 write_gate: Optional[Callable[[], None]] = None) -> DefenderClient:
    """The API client for the settings; raises InputError for an unusable credential, before any request.

    ``write_gate()`` is called before each write is sent and raises to keep it unsent.

    A token cache folder that cannot be used adds its warning to ``settings.warnings``: callers show them after this.
    """
    http_session = session.build_session(settings)
    pacer = RateLimiter(clock=clock, shared_path=shared_pacing_path(settings, prepare_cache_folder(settings)),
                        listener=pacing_listener)
    token_provider = auth.build_token_provider(settings, http_session, clock)
    return DefenderClient(HttpTransport(settings, token_provider, http_session, clock=clock, pacer=pacer,
                                        write_gate=write_gate))
