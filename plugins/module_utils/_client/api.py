# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DefenderClient: one method per Microsoft Defender for Endpoint API call the collection makes.

Every method returns the API's JSON entities unchanged; deciding what they mean is the engine's job.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, Optional, cast
from urllib.parse import quote

from ansible_collections.mde.response.plugins.module_utils._client.package_download import PackageFile, download_package
from ansible_collections.mde.response.plugins.module_utils._client.pacing import PACKAGE_URI_ROUTE
from ansible_collections.mde.response.plugins.module_utils._model.entities import id_key
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import ActionSpec
from ansible_collections.mde.response.plugins.module_utils.errors import ApiError, TransportError

if TYPE_CHECKING:
    from datetime import datetime

    from ansible_collections.mde.response.plugins.module_utils._client.transport import HttpTransport

# An entity as the API returns it (a Machine, a MachineAction, an Indicator ...).
Entity = Dict[str, Any]

# The documented maximum of $top for /api/machines and /api/machineactions.
MAX_PAGE_SIZE = 10000
NEXT_LINK = "@odata.nextLink"
# The default order of /api/machineactions is undocumented (docs/api-fidelity.md), and $skip pages are only
# consistent in a fixed order. Oldest first, actions created while the pages are read come after them instead
# of shifting every page. $orderby is undocumented but sent in production by other clients.
ACTIONS_PAGING_ORDER = "creationDateTimeUtc asc"
ALERTS_PATH = "/api/alerts"
ALERTS_ROUTE = "alerts.list"
# Pages one listing reads at most: a million entities at the largest page size, for one minute's budget of 100 calls.
# It stops a server whose pages never end without repeating themselves; one that repeats a page is stopped sooner.
MAX_LIST_CALLS = 100
TAG_ROUTE = "machines.AddOrRemoveTagForMultipleMachines"
# Documented: "We can add or remove a tag for up to 500 machines per API call."
MAX_MACHINES_PER_TAG_CALL = 500


def _segment(value: object) -> str:
    # Ids come from users and from API answers; quoting keeps any odd character inside its path segment.
    return quote(str(value), safe="")


class DefenderClient:
    """The Defender for Endpoint API calls, over a transport that handles tokens, retries and pacing."""

    def __init__(self, transport: HttpTransport) -> None:
        self._transport = transport
        # What the listings had to cut short, for the module's warnings; listings run in several threads at once.
        self.warnings: list[str] = []
        self._warnings_lock = threading.Lock()

    def list_machines(self, odata_filter: Optional[str] = None, page_size: int = MAX_PAGE_SIZE) -> list[Entity]:
        """All machines matching ``odata_filter`` (every page)."""
        return [machine for page in self.machine_pages(odata_filter, page_size) for machine in page]

    def machine_pages(self, odata_filter: Optional[str] = None, page_size: int = MAX_PAGE_SIZE) -> Iterator[list[Entity]]:
        """The machines matching ``odata_filter`` one page at a time, so that a caller keeps only what it needs."""
        try:
            yield from self._pages("/api/machines", "machines.list", odata_filter, page_size)
        except ApiError as error:
            # The API answers 404 instead of an empty list when no machine was seen recently.
            if error.http_status != 404:
                raise

    def list_file_machines(self, sha1: str) -> list[Entity]:
        """The machines Defender relates to the file (paging of this call is undocumented: one request)."""
        path = "/api/files/%s/machines" % _segment(sha1)
        return self._collection("GET", path, route="files.machines")

    def find_file(self, file_hash: str) -> Optional[Entity]:
        """The File entity of a SHA-1 or SHA-256 (needs File.Read.All), or None when Defender has no record of it.

        Only the API's own 404 means "no record" (its body is undocumented, so any code or none); every other failure,
        including a 403 without File.Read.All, raises, because it says nothing about the file.
        """
        try:
            return self._transport.request("GET", "/api/files/%s" % _segment(file_hash), route="files.get")
        except ApiError as error:
            if error.http_status == 404:
                return None
            raise

    def list_machine_actions(self, odata_filter: Optional[str] = None, page_size: int = MAX_PAGE_SIZE) -> list[Entity]:
        """All machine actions matching ``odata_filter`` (every page)."""
        return self._list_all("/api/machineactions", "machineactions.list", odata_filter, page_size, order_by=ACTIONS_PAGING_ORDER)

    def get_machine_action(self, action_id: str) -> Optional[Entity]:
        return self._transport.request("GET", "/api/machineactions/%s" % _segment(action_id), route="machineactions.get")

    def package_uri(self, action_id: str) -> str:
        """The short-lived download link of a Succeeded collection's package (a secret: its query is the signature).

        The API answers 404 while the collection is not complete; the route has limits of its own (pacing.py)."""
        answer = self._transport.request("GET", "/api/machineactions/%s/getPackageUri" % _segment(action_id),
                                         route=PACKAGE_URI_ROUTE)
        link = answer.get("value") if answer else None
        if not isinstance(link, str) or not link:
            raise TransportError("GET %s: HTTP 200 without the package link in \"value\"" % PACKAGE_URI_ROUTE, http_status=200)
        return link

    def download_package(self, action_id: str, path: str) -> PackageFile:
        """Download the package of collection ``action_id`` to ``path``, asking for its link as the download starts."""
        return download_package(self._transport.session, lambda: self.package_uri(action_id), path, self._transport.clock,
                                self._transport.timeout)

    def post_machine_action(self, spec: ActionSpec, machine_id: str, body: dict[str, str]) -> Optional[Entity]:
        """POST one machine action; each endpoint is paced on its own limits (route ``machines.<endpoint>``)."""
        # Body keys are case-sensitive ("comment"/"sha1" are refused): ActionSpec.body spells them as the API does.
        return self._transport.request("POST", "/api/%s" % spec.path(_segment(machine_id)), body=body,
                                       route="machines.%s" % spec.endpoint)

    def tag_machines(self, machine_ids: Iterable[str], tag: str, action: str) -> None:
        """Add (``action`` "Add") or remove ("Remove") one tag on up to 500 machines; the answer's body is undocumented."""
        self._transport.request(
            "POST",
            "/api/machines/AddOrRemoveTagForMultipleMachines",
            body={"Value": tag, "Action": action, "MachineIds": list(machine_ids)},
            route=TAG_ROUTE,
        )

    def granted_roles(self) -> Optional[frozenset[str]]:
        """The application permissions the token grants, as its roles claim says (a frozenset), or None when unknown."""
        return self._transport.granted_roles()

    def answer_date(self) -> Optional[datetime]:
        """The API's clock when it answered this thread's last call (its Date header), or None."""
        return self._transport.answer_date()

    def cancel_machine_action(self, action_id: str, comment: str) -> Optional[Entity]:
        return self._transport.request(
            "POST",
            "/api/machineactions/%s/cancel" % _segment(action_id),
            body={"Comment": comment},
            route="machineactions.cancel",
        )

    def alerts_page(self, params: dict[str, Any]) -> Entity:
        """One page of GET /api/alerts for ``params`` ($filter, $orderby, $top, $skip): the event source pages itself."""
        return self._page("GET", ALERTS_PATH, params=params, route=ALERTS_ROUTE)

    def list_indicators(self, odata_filter: Optional[str] = None, page_size: int = MAX_PAGE_SIZE) -> list[Entity]:
        """All active indicators matching ``odata_filter`` (every page)."""
        return self._list_all("/api/indicators", "indicators.list", odata_filter, page_size)

    def submit_indicator(self, indicator: Entity) -> Optional[Entity]:
        """Create the indicator, or update the one with the same value; returns it."""
        return self._transport.request("POST", "/api/indicators", body=indicator, route="indicators.submit")

    def import_indicators(self, indicators: Iterable[Entity]) -> list[Entity]:
        """Submit or update up to 500 indicators; returns the per-indicator results (id, indicator, isFailed, failureReason)."""
        return self._collection("POST", "/api/indicators/import", body={"Indicators": list(indicators)}, route="indicators.import")

    def delete_indicator(self, indicator_id: str) -> None:
        self._transport.request("DELETE", "/api/indicators/%s" % _segment(indicator_id), route="indicators.delete")

    def _page(self, method: str, path: str, route: str, params: Optional[dict[str, Any]] = None, body: Any = None) -> Entity:
        """A collection's answer: the transport has checked that it is an object holding a "value" list."""
        return cast(Entity, self._transport.request(method, path, params=params, body=body, route=route, collection=True))

    def _collection(self, method: str, path: str, route: str, body: Any = None) -> list[Entity]:
        return self._page(method, path, route, body=body)["value"]

    def _list_all(self, path: str, route: str, odata_filter: Optional[str], page_size: int,
                  order_by: Optional[str] = None) -> list[Entity]:
        return [entity for page in self._pages(path, route, odata_filter, page_size, order_by) for entity in page]

    def _pages(self, path: str, route: str, odata_filter: Optional[str], page_size: int,
               order_by: Optional[str] = None) -> Iterator[list[Entity]]:
        """The entities of every page, one page (of entities not seen before) at a time."""
        # Paged by hand: @odata.nextLink is undocumented here and known to loop forever on /api/machines, so it is
        # never followed. A short page marks the end, unless it carries a link: then the server's own page size cut
        # it, and the next $skip goes on from what arrived. An empty page always ends, so a looping link cannot; a
        # page of entities already read ends it too, so a server that ignores $skip cannot either.
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError("page_size must be between 1 and %d" % MAX_PAGE_SIZE)
        seen: set[str] = set()
        received = 0
        for call in range(1, MAX_LIST_CALLS + 1):
            params: dict[str, Any] = {"$top": page_size, "$skip": received}
            if odata_filter:
                params["$filter"] = odata_filter
            if order_by:
                params["$orderby"] = order_by
            answer = self._page("GET", path, route, params=params)
            page = answer["value"]
            received += len(page)
            new = [entity for entity in page if _identity(entity) not in seen]
            seen.update(_identity(entity) for entity in new)
            if new:
                yield new
            if page and not new:
                self._warn(
                    "GET %s: page %d ($skip=%d) held only entities the earlier pages had, as if the server ignored $skip, so"
                    " the listing stopped there with %d; there may be more: give the task fewer machines or a narrower"
                    " filter, so that the first page holds the whole answer" % (path, call, params["$skip"], len(seen)))
                return
            if not page or (len(page) < page_size and NEXT_LINK not in answer):
                return
        self._warn(
            "GET %s: the listing stopped after %d pages (%d entities), the most one listing reads; there may be more: give"
            " the task fewer machines or a narrower filter" % (path, MAX_LIST_CALLS, len(seen)))

    def _warn(self, message: str) -> None:
        with self._warnings_lock:
            self.warnings.append(message)


def _identity(entity: Entity) -> str:
    """What tells one listed entity from another: its id, or for an entity without one all of it."""
    return id_key(entity) or json.dumps(entity, sort_keys=True, default=str)
