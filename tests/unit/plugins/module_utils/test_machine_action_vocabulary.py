# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine-action vocabulary: endpoints, bodies and permissions as the simulator serves them, and how an existing
action bears on a request."""

from __future__ import annotations

import pytest

from ansible_collections.mde.response.plugins.module_utils._model.entities import ACTION_TYPES
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import (
    ACTIONS,
    BUSY,
    CROSSES,
    SERVES,
    UNRELATED,
    relation,
)
from tests.simulator.defender import ACTION_ROLES
from tests.simulator.machine_actions import KINDS

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"


def test_every_type_is_a_documented_type_with_the_endpoint_and_permission_the_simulator_serves():
    assert set(ACTIONS) <= set(ACTION_TYPES)
    for action_type, spec in ACTIONS.items():
        assert (spec.permission,) == ACTION_ROLES[action_type]
        if action_type in KINDS:
            kind = KINDS[action_type]
            assert (spec.endpoint, spec.scope_parameter, spec.scopes, spec.scope_required, spec.opposite) == (
                kind.path, kind.scope_parameter, kind.scopes, kind.scope_required, kind.opposite)
    assert ACTIONS["Isolate"].path("abc") == "machines/abc/isolate"


@pytest.mark.parametrize("action_type, arguments, expected", [
    ("Isolate", {"comment": "c"}, {"Comment": "c", "IsolationType": "Full"}),
    ("Isolate", {"comment": "c", "scope": "Selective"}, {"Comment": "c", "IsolationType": "Selective"}),
    ("Unisolate", {"comment": "c"}, {"Comment": "c"}),
    ("RunAntiVirusScan", {"comment": "c", "scope": "Full"}, {"Comment": "c", "ScanType": "Full"}),
    ("CollectInvestigationPackage", {"comment": "c"}, {"Comment": "c"}),
    ("StopAndQuarantineFile", {"comment": "c", "sha1": SHA1}, {"Comment": "c", "Sha1": SHA1}),
])
def test_bodies_use_the_apis_names(action_type, arguments, expected):
    assert ACTIONS[action_type].body(**arguments) == expected


@pytest.mark.parametrize("action_type, arguments, message", [
    ("RunAntiVirusScan", {"comment": "c"}, "RunAntiVirusScan needs ScanType: one of Quick, Full"),
    ("Isolate", {"comment": "c", "scope": "full"}, "Isolate IsolationType must be one of Full, Selective, UnManagedDevice, not 'full'"),
    ("Unisolate", {"comment": "c", "scope": "Full"}, "Unisolate takes no scope"),
    ("Isolate", {"comment": ""}, "Isolate needs a comment"),
    ("StopAndQuarantineFile", {"comment": "c"}, "StopAndQuarantineFile needs Sha1"),
])
def test_a_body_the_api_would_refuse_is_an_error_before_any_request(action_type, arguments, message):
    with pytest.raises(ValueError, match="^%s$" % message):
        ACTIONS[action_type].body(**arguments)


def action(action_type, status="Pending", scope=None, sha1=None):
    return {"type": action_type, "status": status, "scope": scope,
            "relatedFileInfo": {"fileIdentifier": sha1, "fileIdentifierType": "Sha1"} if sha1 else None}


@pytest.mark.parametrize("requested, scope, existing, expected", [
    ("Isolate", "Full", action("Isolate", scope="Full"), SERVES),
    ("Isolate", None, action("Isolate", "InProgress", scope="Full"), SERVES),
    ("Isolate", "Selective", action("Isolate", scope="Full"), BUSY),
    ("Isolate", "Full", action("Unisolate"), CROSSES),
    ("Unisolate", None, action("Isolate", scope="Selective"), CROSSES),
    ("Unisolate", None, action("Unisolate", "InProgress"), SERVES),
    ("RestrictCodeExecution", None, action("UnrestrictCodeExecution"), CROSSES),
    ("RunAntiVirusScan", "Quick", action("RunAntiVirusScan", scope="Full"), SERVES),
    ("RunAntiVirusScan", "Full", action("RunAntiVirusScan", scope="Quick"), BUSY),
    ("CollectInvestigationPackage", None, action("CollectInvestigationPackage", "InProgress"), SERVES),
    ("Isolate", "Full", action("Isolate", "Succeeded", scope="Full"), UNRELATED),
    ("Isolate", "Full", action("Unisolate", "Cancelled"), UNRELATED),
    ("Isolate", "Full", action("RunAntiVirusScan", scope="Full"), UNRELATED),
    ("RunAntiVirusScan", "Quick", "not an entity", UNRELATED),
])
def test_only_an_action_in_flight_serves_crosses_or_keeps_a_request_waiting(requested, scope, existing, expected):
    assert relation(ACTIONS[requested], existing, scope=scope) == expected


def test_a_file_action_serves_only_the_same_file_in_any_case():
    quarantine = ACTIONS["StopAndQuarantineFile"]
    assert relation(quarantine, action("StopAndQuarantineFile", sha1=SHA1.upper()), sha1=SHA1) == SERVES
    assert relation(quarantine, action("StopAndQuarantineFile", sha1="a" * 40), sha1=SHA1) == UNRELATED
    assert relation(quarantine, action("StopAndQuarantineFile"), sha1=SHA1) == UNRELATED
