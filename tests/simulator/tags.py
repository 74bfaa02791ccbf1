"""The simulated machine tags API: tags added to or removed from machines, one machine or up to 500 a call.

Routes: ``POST /api/machines/AddOrRemoveTagForMultipleMachines`` (body ``{"Value", "Action", "MachineIds"}``) and
``POST /api/machines/{id}/tags`` (body ``{"Value", "Action"}``). Documented facts (add-or-remove-multiple-machine-tags,
add-or-remove-machine-tags; reference §13): ``Value`` and ``Action`` (``Add`` or ``Remove``) are required, up to 500
machines a call, 100 calls a minute and 1,500 an hour (the server's per-route limits), application permission
``Machine.ReadWrite.All``; the single call answers 200 with the updated Machine. What the pages leave open is a
switch in config.py (``tag_*``): the longest tag, unknown machine ids in a bulk call, whether tags compare ignoring
case, and the bulk call's answer.

Tags land in the machines' ``machineTags``, so GET /api/machines and /api/machines/{id} show them at once.
"""

from .defender import _BodyError, _context, _json_body, _machine_not_found, _required_values, _switch
from .http import Response, mde_error

TAG_ROLES = ("Machine.ReadWrite.All",)
TAG_ACTIONS = ("Add", "Remove")
# Documented: "We can add or remove a tag for up to 500 machines per API call."
MAX_MACHINES_PER_CALL = 500
UNKNOWN_MACHINE_VARIANTS = ("refuse", "ignore")
TAG_CASE_VARIANTS = ("insensitive", "sensitive")
BULK_RESPONSE_VARIANTS = ("machines", "empty")


class TagService:
    """The two tag routes, over the machines of a DefenderService."""

    def __init__(self, config, defender):
        self._config = config
        self._defender = defender

    def routes(self):
        return [
            ("POST", r"^/api/machines/AddOrRemoveTagForMultipleMachines$", "machines.AddOrRemoveTagForMultipleMachines",
             self.tag_machines),
            ("POST", r"^/api/machines/(?P<machine_id>[^/]+)/tags$", "machines.tags", self.tag_machine),
        ]

    def tag_machines(self, request):
        denied = self._defender.forbidden(request, TAG_ROLES)
        if denied:
            return denied
        try:
            body = _json_body(request)
            value, action = self._value_and_action(body)
            machine_ids = _machine_ids(body)
        except _BodyError as error:
            return error.response
        refuse_unknown = _switch(self._config, "tag_unknown_machines", UNKNOWN_MACHINE_VARIANTS) == "refuse"
        change, tagged = self._tagger(value, action)
        unknown = self._defender.change_machines(machine_ids, change, all_known=refuse_unknown)
        if unknown and refuse_unknown:
            return _machine_not_found(unknown[0])
        if _switch(self._config, "tag_bulk_response", BULK_RESPONSE_VARIANTS) == "empty":
            return Response(200, None)
        return Response(200, {"@odata.context": _context(request, "Machines"), "value": tagged})

    def tag_machine(self, request):
        denied = self._defender.forbidden(request, TAG_ROLES)
        if denied:
            return denied
        try:
            value, action = self._value_and_action(_json_body(request))
        except _BodyError as error:
            return error.response
        change, tagged = self._tagger(value, action)
        machine_id = request.params["machine_id"]
        if self._defender.change_machines([machine_id], change):
            return _machine_not_found(machine_id)
        return Response(200, {"@odata.context": _context(request, "Machines/$entity"), **tagged[0]})

    def _value_and_action(self, body):
        if not isinstance(body, dict):
            raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body."))
        value, action = _required_values(body, ("Value", "Action"))
        if action not in TAG_ACTIONS:
            raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. Action must be Add or Remove, got %s." % action))
        limit = self._config.tag_max_length
        if limit is not None and len(value) > limit:
            raise _BodyError(mde_error(400, "InvalidInput", "Invalid input Value: a tag is at most %d characters long." % limit))
        return value, action

    def _tagger(self, value, action):
        """(the change to make on each machine, the list that collects a copy of each machine it changed)."""
        tagged = []

        def change(entity):
            self._apply(entity["machineTags"], value, action)
            tagged.append(dict(entity, machineTags=list(entity["machineTags"])))

        return change, tagged

    def _apply(self, tags, value, action):
        insensitive = _switch(self._config, "tag_case", TAG_CASE_VARIANTS) == "insensitive"

        def same(tag):
            return tag.lower() == value.lower() if insensitive else tag == value

        if action == "Add" and not any(same(tag) for tag in tags):
            tags.append(value)
        elif action == "Remove":
            tags[:] = [tag for tag in tags if not same(tag)]


def _machine_ids(body):
    machine_ids = body.get("MachineIds")
    if machine_ids is None:
        raise _BodyError(mde_error(400, "MissingRequiredParameter", "Parameter MachineIds is missing."))
    if not isinstance(machine_ids, list) or not all(isinstance(item, str) and item for item in machine_ids):
        raise _BodyError(mde_error(400, "InvalidRequestBody", "Invalid request body. MachineIds must be a list of machine ids."))
    if not machine_ids:
        raise _BodyError(mde_error(400, "InvalidInput", "Invalid input MachineIds: the list is empty."))
    if len(machine_ids) > MAX_MACHINES_PER_CALL:
        raise _BodyError(mde_error(400, "MaximumBatchSizeExceeded", "Maximum batch size exceeded. Received: %d, allowed: %d."
                                   % (len(machine_ids), MAX_MACHINES_PER_CALL)))
    return machine_ids
