# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DefenderClient: one method per Microsoft Defender for Endpoint API call the collection makes.

Every method returns the API's JSON entities unchanged; deciding what they mean is the engine's job.
"""

from urllib.parse import quote

from ansible_collections.mde.response.plugins.module_utils.errors import ApiError

# The documented maximum of $top for /api/machines and /api/machineactions.
MAX_PAGE_SIZE = 10000


def _segment(value):
    # Ids come from users and from API answers; quoting keeps any odd character inside its path segment.
    return quote(str(value), safe="")


class DefenderClient:
    """The Defender for Endpoint API calls, over a transport that handles tokens, retries and pacing."""

    def __init__(self, transport):
        self._transport = transport

    def list_machines(self, odata_filter=None, page_size=MAX_PAGE_SIZE):
        """All machines matching ``odata_filter`` (every page)."""
        try:
            return self._list_all("/api/machines", "machines.list", odata_filter, page_size)
        except ApiError as error:
            # The API answers 404 instead of an empty list when no machine was seen recently.
            if error.http_status == 404:
                return []
            raise

    def list_file_machines(self, sha1):
        """The machines Defender relates to the file (paging of this call is undocumented: one request)."""
        path = "/api/files/%s/machines" % _segment(sha1)
        return self._transport.request("GET", path, route="files.machines", collection=True)["value"]

    def list_machine_actions(self, odata_filter=None, page_size=MAX_PAGE_SIZE):
        """All machine actions matching ``odata_filter`` (every page)."""
        return self._list_all("/api/machineactions", "machineactions.list", odata_filter, page_size)

    def get_machine_action(self, action_id):
        return self._transport.request("GET", "/api/machineactions/%s" % _segment(action_id), route="machineactions.get")

    def stop_and_quarantine_file(self, machine_id, sha1, comment):
        # Body keys are case-sensitive: "comment"/"sha1" are refused by the API.
        return self._transport.request(
            "POST",
            "/api/machines/%s/StopAndQuarantineFile" % _segment(machine_id),
            body={"Comment": comment, "Sha1": sha1},
            route="machines.StopAndQuarantineFile",
        )

    def answer_date(self):
        """The API's clock when it answered this thread's last call (its Date header), or None."""
        return self._transport.answer_date()

    def cancel_machine_action(self, action_id, comment):
        return self._transport.request(
            "POST",
            "/api/machineactions/%s/cancel" % _segment(action_id),
            body={"Comment": comment},
            route="machineactions.cancel",
        )

    def _list_all(self, path, route, odata_filter, page_size):
        # Paged by hand: @odata.nextLink is undocumented here and known to loop forever on /api/machines,
        # so it is ignored and a short page marks the end.
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError("page_size must be between 1 and %d" % MAX_PAGE_SIZE)
        entities = []
        while True:
            params = {"$top": page_size, "$skip": len(entities)}
            if odata_filter:
                params["$filter"] = odata_filter
            page = self._transport.request("GET", path, params=params, route=route, collection=True)["value"]
            entities.extend(page)
            if len(page) < page_size:
                return entities
