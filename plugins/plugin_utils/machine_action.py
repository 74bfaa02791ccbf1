# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The machine_action role's rules: which module an action is, its options, the plan, the report and the messages.

The role's tasks, its Markdown template and the playbook read these through the collection's filters, so that each
rule is written once, here, and tested without running a playbook. The per-machine counting and the permission
advice are the quarantine role's own (quarantine_report.py), shared rather than written again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Optional

from ansible_collections.mde.response.plugins.module_utils._client.pacing import PER_HOUR, PER_MINUTE, minutes_to_write
from ansible_collections.mde.response.plugins.module_utils._model.machine_actions import (
    ACTIONS as MACHINE_ACTIONS, COLLECT, ISOLATE, RESTRICT, SCAN, UNISOLATE, UNRESTRICT, ActionSpec)
from ansible_collections.mde.response.plugins.module_utils._model.protection import FIELDS as PROTECT_FIELDS
from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import (
    NO_RESULT, missing_permissions, outcome_counts, permission_lines, text_table)
from ansible_collections.mde.response.plugins.plugin_utils.role_input import survey_values

ROLE = "machine_action"
# The outcomes of a check-mode run that mean a real run writes to the machine.
WRITING_OUTCOMES = ("would_create",)
# Outcomes that leave the machine done (or, in check mode, about to be).
DONE_OUTCOMES = ("created", "existing", "would_create", "queued")


@dataclass(frozen=True)
class FrontAction:
    """One action of the role: the module that does it, the options that make it this action, what it says."""

    module: str
    fixed: tuple[tuple[str, str], ...]
    # Said after "Plan: 3 of 4 machine(s) need to be ...", and in the summary.
    done_words: str
    # The Defender machine action type it creates (its endpoint, permission and scopes: _model/machine_actions.py).
    action_type: str
    # Actions that cut a machine off honour the protection list; undoing them never does.
    cuts_off: bool = False
    # Role settings that only this action takes, by the module option each becomes.
    settings: tuple[tuple[str, str], ...] = ()
    # The setting that is the action's scope (IsolationType, ScanType), checked against the API's values.
    scope_setting: Optional[str] = None
    # A package can only be downloaded once collected: the run waits whatever machine_action_wait says.
    always_waits: bool = False
    # The setting without which the action cannot be done (the packages' folder).
    required_setting: Optional[str] = None

    @property
    def spec(self) -> ActionSpec:
        return MACHINE_ACTIONS[self.action_type]


ACTIONS: dict[str, FrontAction] = {
    "isolate": FrontAction("machine_isolation", (("state", "isolated"),), "isolated", ISOLATE, cuts_off=True,
                           settings=(("isolation_type", "isolation_type"), ("change_isolation_type", "change_isolation_type")),
                           scope_setting="isolation_type"),
    "release": FrontAction("machine_isolation", (("state", "released"),), "released from isolation", UNISOLATE),
    "restrict": FrontAction("app_restriction", (("state", "restricted"),), "restricted to Microsoft-signed apps", RESTRICT, cuts_off=True),
    "unrestrict": FrontAction("app_restriction", (("state", "unrestricted"),), "freed of the app restriction", UNRESTRICT),
    "scan": FrontAction("antivirus_scan", (), "scanned", SCAN, settings=(("scan_type", "scan_type"), ("succeeded_within", "succeeded_within")),
                        scope_setting="scan_type"),
    "collect": FrontAction("investigation_package", (), "collected and downloaded", COLLECT,
                           settings=(("package_dir", "dest"), ("succeeded_within", "succeeded_within")), always_waits=True,
                           required_setting="package_dir"),
}
# Every setting some action takes, so that one given to another action is named as a mistake rather than ignored.
ACTION_SETTINGS = tuple(dict.fromkeys(name for action in ACTIONS.values() for name, _option in action.settings))


def _given(value: Any) -> bool:
    return value not in (None, "", [], {})


def _namer(names: Optional[Mapping]) -> Callable[[str], str]:
    """The name the caller's users know a role variable (without its prefix) by."""
    names = names or {}

    def name(variable: str) -> str:
        full = "%s_%s" % (ROLE, variable)
        return names.get(full) or full
    return name


def protection(value: Optional[Mapping]) -> dict[str, list[str]]:
    """The protection list as the modules take it, each field's survey text split into its values."""
    value = value or {}
    return {field: survey_values(value.get(field)) for field in PROTECT_FIELDS}


def build_request(settings: Mapping[str, Any], names: Optional[Mapping] = None) -> dict[str, Any]:
    """What the role's settings ask for: ``action``, ``module``, the module's ``options`` (without the run's own:
    wait, progress and lease), the ``problems`` that stop the role before any request, and the ``permission``.

    ``settings`` are the role's variables without their ``machine_action_`` prefix; ``names`` maps the role's
    variables to the names its caller's users set them by (machine_action_variable_names).
    """
    name = _namer(names)
    verb = settings.get("action")
    action = ACTIONS.get(str(verb))
    problems = []
    if action is None:
        problems.append("%s=%s is not an action: use one of %s." % (name("action"), verb, ", ".join(ACTIONS)))
    if not str(settings.get("comment") or "").strip():
        problems.append("%s is empty: give the incident number or the reason, stored with every action." % name("comment"))
    machine_ids = survey_values(settings.get("machine_ids"))
    machine_names = survey_values(settings.get("machine_names"))
    if not machine_ids and not machine_names:
        problems.append("No target machine: give %s or %s." % (name("machine_ids"), name("machine_names")))
    options: dict[str, Any] = {"comment": settings.get("comment"), "machine_ids": machine_ids, "machine_names": machine_names}
    if _given(settings.get("max_machines")):
        options["max_machines"] = int(settings["max_machines"])
    if _given(settings.get("wait_timeout")):
        options["wait_timeout"] = int(settings["wait_timeout"])
    protect = protection(settings.get("protect"))
    if action is not None:
        options.update(action.fixed)
        taken = dict(action.settings)
        for setting in ACTION_SETTINGS:
            if setting in taken and _given(settings.get(setting)):
                options[taken[setting]] = settings[setting]
            elif setting not in taken and _given(settings.get(setting)) and settings.get(setting) is not False:
                users = [other_verb for other_verb, other in ACTIONS.items() if setting in dict(other.settings)]
                problems.append("%s applies only to the action %s, not to %s: leave it out." % (
                    name(setting), " or ".join(users), verb))
        scope = settings.get(action.scope_setting) if action.scope_setting else None
        if _given(scope) and scope not in action.spec.scopes:
            problems.append("%s=%s is not one of %s." % (name(str(action.scope_setting)), scope, ", ".join(action.spec.scopes)))
        if action.cuts_off:
            options["protect"] = protect
        if action.required_setting and not _given(settings.get(action.required_setting)):
            problems.append("%s is empty: give the folder on the controller to download the packages to." % name(action.required_setting))
    return {"action": verb, "module": action.module if action else None, "options": options, "problems": problems,
            "always_waits": bool(action and action.always_waits),
            "permission": action.spec.permission if action else None, "protect": protect if action and action.cuts_off else None}


def intro_lines(req: Mapping[str, Any], check_mode: bool, wait: bool) -> list[str]:
    """What the role shows before it reads anything: the action, its targets, the protection and the limits."""
    options = req["options"]
    details = ", ".join("%s %s" % (option.replace("_", " "), options[option])
                        for option in ("state", "isolation_type", "change_isolation_type", "scan_type", "succeeded_within", "dest")
                        if options.get(option) not in (None, False))
    lines = ["%s%s with %s (%s)" % ("Check mode: reading only, nothing is sent. " if check_mode else "", req["action"],
                                    "mde.response." + req["module"], details or "its defaults"),
             "comment: %s" % options["comment"],
             "machine names (%d): %s" % (len(options["machine_names"]), ", ".join(options["machine_names"]) or "none"),
             "machine IDs (%d): %s" % (len(options["machine_ids"]), ", ".join(options["machine_ids"]) or "none"),
             "at most %s machine(s) (max_machines)" % options.get("max_machines", "the module's default number of")]
    if req["protect"] is not None:
        lines.append("protected, never sent: %s" % ("; ".join(
            "%s %s" % (field.replace("_", " "), ", ".join(values)) for field, values in req["protect"].items() if values) or "nothing"))
    lines.append("wait: %s" % (("yes, up to %s" % ("%d s" % options["wait_timeout"] if "wait_timeout" in options
                                                   else "the module's wait_timeout")) if wait else "no"))
    return lines


def plan(request: Mapping[str, Any], check_result: Optional[Mapping] = None, check_mode: bool = False, wait: bool = False,
         now: Optional[str] = None, wait_timeout: int = 0) -> list[str]:
    """The intro before anything is read, or with ``check_result`` (the module's check-mode result) the plan."""
    if check_result is None:
        return intro_lines(request, check_mode, wait)
    return plan_lines(check_result, request, str(now), wait_timeout)


def _entries(result: Optional[Mapping]) -> list[Mapping]:
    return list((result or {}).get("actions") or [])


def plan_lines(result: Mapping, req: Mapping, now: str, wait_timeout: int = 0) -> list[str]:
    """The lines the role prints after its check-mode read: how many machines a real run writes to, which are
    protected, unsupported or failing, the expected end at Defender's limits.

    ``result`` is the module's check-mode result, ``now`` the current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``.
    """
    if "actions" not in result:
        return ["Plan: the machines could not be read: %s (the run below tries again and reports it)." % result.get("msg", NO_RESULT)]
    entries = _entries(result)
    counts: dict[str, int] = {}
    for entry in entries:
        outcome = str(entry.get("outcome"))
        counts[outcome] = counts.get(outcome, 0) + 1
    needed = sum(counts.get(outcome, 0) for outcome in WRITING_OUTCOMES)
    action = ACTIONS[req["action"]]
    lines = ["Plan: %d of %d machine(s) need to be %s; %s." % (
        needed, len(entries), action.done_words,
        # In a fixed order, so that two plans of the same fleet read alike.
        outcome_counts({outcome: counts[outcome] for outcome in sorted(counts) if outcome not in WRITING_OUTCOMES}) or "no other")]
    protected = [entry for entry in entries if entry.get("outcome") == "protected"]
    if protected:
        lines.append("%d machine(s) are protected and get no request: %s." % (len(protected), "; ".join(
            "%s (%s)" % (entry.get("machine_name") or entry.get("machine_id"), (entry.get("protected") or {}).get("reason", "protected"))
            for entry in protected)))
    refused = missing_permissions([entry for entry in entries if entry.get("error")])
    if refused:
        lines.append("%d machine(s) would be refused: the access token lacks the application permission %s, so the run stops "
                     "at its first refused write (the summary says how to grant it)." % (sum(refused.values()), ", ".join(refused)))
    minutes = minutes_to_write(needed)
    if minutes:
        end = datetime.strptime(now, "%Y-%m-%dT%H:%M:%SZ") + timedelta(minutes=minutes, seconds=wait_timeout)
        lines.append("At Defender's limits (%d actions a minute, %s an hour) the writes take about %d minute(s)%s: expected end %s UTC." % (
            PER_MINUTE, "{:,}".format(PER_HOUR), minutes, ", then the wait of up to %d s" % wait_timeout if wait_timeout else "",
            end.strftime("%Y-%m-%d %H:%M")))
    return lines


def _detail(row: Mapping) -> str:
    if row.get("error"):
        return "%s: %s" % (row["error"].get("code"), row["error"].get("message"))
    if row.get("protected"):
        return "protected: %s" % row["protected"].get("reason")
    if row.get("package"):
        return "%s (%s bytes, sha256 %s)" % (row["package"].get("path"), row["package"].get("size"), row["package"].get("sha256"))
    if row.get("queued"):
        return row["queued"].get("message") or "-"
    return "-"


def _row(entry: Mapping) -> dict[str, Any]:
    row = {name: entry.get(name) for name in ("machine_id", "machine_name", "outcome", "status", "action_id", "error")}
    for name in ("state_before", "state_after", "package", "protected", "queued", "warning"):
        if entry.get(name):
            row[name] = entry[name]
    # What the table and the Markdown report show after the outcome, said once.
    row["detail"] = _detail(row)
    return row


def report(result: Mapping, request: Mapping, check_mode: bool, generated: str, waited: bool = False) -> dict[str, Any]:
    """The role's report from the module's result: the run's facts, ``summary``, ``machines`` (failures first),
    ``failures`` and ``error`` (why the module gave no machine result at all, or None)."""
    machines = [_row(entry) for entry in _entries(result)]
    # sorted() is stable: within failures and within the rest, the order of the results stays.
    machines.sort(key=lambda row: row["outcome"] != "failed")
    return {
        "generated": generated,
        "action": request["action"],
        "module": "mde.response.%s" % request["module"],
        "comment": request["options"]["comment"],
        "check_mode": bool(check_mode),
        "waited": bool(waited and not check_mode),
        "protect": request["protect"],
        "summary": {outcome: count for outcome, count in (result.get("summary") or {}).items() if count},
        "error": None if "actions" in result else result.get("msg", NO_RESULT),
        "failures": [{name: row[name] for name in ("machine_id", "machine_name", "error")} for row in machines if row["outcome"] == "failed"],
        "machines": machines,
    }


def _state(row: Mapping) -> str:
    if row.get("state_before") or row.get("state_after"):
        return "%s -> %s" % (row.get("state_before") or "?", row.get("state_after") or "?")
    return "-"


TABLE_COLUMNS = ("outcome", "machine", "status", "state", "action id", "detail")


def table_lines(rep: Mapping, shown: int) -> list[str]:
    """The per-machine result as aligned lines for the play output, failures first, at most ``shown`` rows."""
    rows = rep["machines"]
    cells = [[row["outcome"] or "-", row["machine_name"] or row["machine_id"] or "-", row["status"] or "-", _state(row),
              row["action_id"] or "-", row["detail"]] for row in rows]
    return text_table(TABLE_COLUMNS, cells, [row["outcome"] for row in rows], shown, "machine_action_results")


def summary_lines(rep: Mapping, shown: int, report_path: Optional[str] = None) -> list[str]:
    """The role's closing message: the totals, why the module gave no result, what to grant, the first failures."""
    prefix = "CHECK MODE, nothing was changed. " if rep["check_mode"] else ""
    lines = ["%s%s on %d machine(s): %s" % (prefix, rep["action"], len(rep["machines"]), outcome_counts(rep["summary"]) or "no machine result")]
    if rep["error"]:
        lines.append("not handled: %s" % rep["error"])
    lines.extend(permission_lines(rep["failures"]))
    for failure in rep["failures"][:shown]:
        error = failure["error"] or {}
        lines.append("failed: %s: %s: %s" % (failure["machine_name"] or failure["machine_id"], error.get("code"), error.get("message")))
    if len(rep["failures"]) > shown:
        lines.append("... %d more failures: see the report" % (len(rep["failures"]) - shown))
    if report_path:
        lines.append("Report: %s" % report_path)
    return lines


def failure_message(rep: Mapping, allow_partial: bool = False, fail_when_queued: bool = False,
                    names: Optional[Mapping] = None, report_path: Optional[str] = None) -> str:
    """Why the role fails the play, and what to do about each cause; empty when it does not fail."""
    name = _namer(names)
    failed = len(rep["failures"])
    queued = rep["summary"].get("queued", 0) if fail_when_queued else 0
    if not rep["error"] and (allow_partial or not failed + queued):
        return ""
    where = "see the summary above%s" % (" and the report %s" % report_path if report_path else "")
    if rep["error"]:
        return ("The %s run could not be handled at all: %s. Fix the cause (credentials, permissions, network, the "
                "targets) and run again; %s." % (rep["action"], rep["error"], where))
    sentences = []
    refused = sum(missing_permissions(rep["failures"]).values())
    if failed > refused:
        sentences.append("%d machine(s) failed: %s; set %s to true to accept failed machines." % (
            failed - refused, where, name("allow_partial")))
    if refused:
        sentences.append("%d machine(s) failed because the application lacks the permission %s: grant it with admin consent"
                         " as the summary above says, then run again with a new token." % (
                             refused, ", ".join(missing_permissions(rep["failures"]))))
    if queued:
        sentences.append("%d action(s) are queued for offline machines and fail the run because %s is true: Defender runs "
                         "them when the machines next connect; set it to false to accept them." % (queued, name("fail_when_queued")))
    return " ".join(sentences)


def action_cap(actions: list, marker: str, cap: int, action_type: str = "Isolate", machine_id: Optional[str] = None) -> dict[str, Any]:
    """How many ``action_type`` actions whose comment holds ``marker`` the listing shows (machine_action_info's
    ``machine_actions`` of the last hour), and ``refused``: why a new one would pass ``cap``, or empty. A machine
    (``machine_id``) that already has one of them needs no new action, so the cap does not refuse it."""
    mine = [action for action in actions or [] if action.get("type") == action_type
            and marker in str(action.get("requestorComment") or "") and action.get("status") != "Cancelled"]
    refused = ""
    again = machine_id is not None and any(str(action.get("machineId")).lower() == machine_id.lower() for action in mine)
    if len(mine) >= cap and not again:
        refused = ("%d %s action(s) with the comment marker %s in the last hour reach the cap of %d: nothing was sent. "
                   "Look at the alerts behind them, then act by hand or raise the cap." % (len(mine), action_type, marker, cap))
    return {"count": len(mine), "machines": sorted({action.get("machineId") for action in mine}), "refused": refused}


def output(rep: Mapping, shown: int = 300, allow_partial: bool = False, fail_when_queued: bool = False,
           names: Optional[Mapping] = None, report_path: Optional[str] = None) -> dict[str, Any]:
    """The per-machine ``table``, the ``summary`` and the ``failure`` message of a report."""
    return {"table": table_lines(rep, shown), "summary": summary_lines(rep, shown, report_path),
            "failure": failure_message(rep, allow_partial, fail_when_queued, names, report_path)}
