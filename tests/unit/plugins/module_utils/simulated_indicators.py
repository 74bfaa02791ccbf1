# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulator's indicators API behind the transport interface, in process (no sockets), for unit tests.

``SimulatedTransport.request`` has the signature of ``HttpTransport.request``, so the real ``DefenderClient`` runs on
top of it: the $filter the code builds is parsed by the simulator's strict OData parser and every body is validated
as the API validates it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import urlencode

from ansible_collections.mde.response.plugins.module_utils.errors import ApiError
from tests.simulator.config import SimulatorConfig
from tests.simulator.defender import DefenderService
from tests.simulator.http import Request
from tests.simulator.indicators import IndicatorService

NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)
APP_ID = "3b4c5d6e-7f80-4912-a3b4-c5d6e7f80912"
SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
SHA256 = "2d6bdfb341be3a6234b24742377f93aa7c7cfb0d9fd64efa9282c87852e57085"
MD5 = "0123456789abcdef0123456789abcdef"


class StoppedClock:
    def now(self):
        return NOW

    def time(self):
        return NOW.timestamp()


class SimulatedTransport:
    """HttpTransport.request's signature, served by the simulator's indicator handlers; records each call."""

    def __init__(self, roles=("Ti.ReadWrite.All",)):
        self.config = SimulatorConfig()
        self.service = IndicatorService(self.config, StoppedClock(), DefenderService(self.config, StoppedClock()))
        self.roles = roles
        self.calls = []

    def request(self, method, path, params=None, body=None, route=None, collection=False):  # pylint: disable=unused-argument
        self.calls.append((method, route, body))
        query = {name: str(value) for name, value in (params or {}).items()}
        for route_method, pattern, _name, handler in self.service.routes():
            found = re.match(pattern, path)
            if route_method == method and found:
                request = Request(method, path, query, urlencode(query), {"host": "api.test"}, json.dumps(body).encode() if body else b"",
                                  params=found.groupdict(), claims={"appid": APP_ID, "roles": list(self.roles)})
                response = handler(request)
                if response.status >= 400:
                    error = response.body["error"]
                    raise ApiError(error["message"], code=error["code"], http_status=response.status, method=method, route=route)
                return response.body
        raise AssertionError("no route for %s %s" % (method, path))

    def writes(self):
        return [call for call in self.calls if call[0] != "GET"]
