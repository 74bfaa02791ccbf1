# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The quarantine_file role's report, built from the results of its module runs.

The role's tasks, its Markdown template and its summary message all count outcomes the same way: this is the one
definition they share, through the collection's filters, and it is tested without running a playbook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.mde.response.plugins.module_utils._actions.action_results import unknown_file_warning
from ansible_collections.mde.response.plugins.module_utils.errors import permission_hint

# When the module gave no message either (a job that died without a result).
NO_RESULT = "the module returned no result"


def file_results(results):
    """One entry per file: its sha1, the module's summary and per-machine results, or why it has none.

    ``results`` are the loop results of the module task, or of the async_status task that waited for them
    (whose item is the module task's result, which holds the sha1 as its own item).
    """
    files = []
    for result in results:
        item = result.get("item")
        files.append({
            "sha1": item.get("item") if isinstance(item, Mapping) else item,
            "error": None if "actions" in result else result.get("msg", NO_RESULT),
            "summary": result.get("summary", {}),
            "actions": result.get("actions", []),
            # Whether Defender has a record of the file (null: not asked or no answer). The module's warnings are not
            # kept: ansible-core shows them in the play output but leaves them out of registered results.
            "file_known": result.get("file_known"),
        })
    return files


def unknown_files(files):
    """The sha1s Defender answered it has no record of."""
    return [file["sha1"] for file in files if file.get("file_known") is False]


def unknown_file_warnings(report: Mapping) -> list[str]:
    """The module's warning for each file Defender has no record of, as the report's readers see it."""
    return [unknown_file_warning(sha1, report["check_mode"]) for sha1 in report["unknown_files"]]


def markdown_cell(value: object) -> str:
    """A value as a Markdown table cell that never breaks the table: pipes escaped, line breaks made spaces, and
    ``-`` for nothing."""
    if value is None or value == "":
        return "-"
    return re.sub(r"[\r\n]+", " ", str(value)).replace("|", "\\|")


def outcome_totals(files):
    """The outcomes of every file added up, in the order they first appear."""
    totals: dict[str, int] = {}
    for file in files:
        for outcome, count in file["summary"].items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals


def machine_rows(files):
    """One row per file and machine, failures first: the files that could not be handled at all (one row each, error
    code ``NotHandled``), then the machines that failed, then every other machine in the order of the results."""
    not_handled = [{"sha1": file["sha1"], "machine_name": None, "machine_id": None, "outcome": "failed", "status": None,
                    "action_id": None, "error": {"code": "NotHandled", "message": file["error"]}}
                   for file in files if file["error"]]
    machines = [{"sha1": file["sha1"], "machine_name": entry.get("machine_name"), "machine_id": entry.get("machine_id"),
                 "outcome": entry.get("outcome"), "status": entry.get("status"), "action_id": entry.get("action_id"),
                 "error": entry.get("error"), **({"queued": entry["queued"]} if entry.get("queued") else {})}
                for file in files for entry in file["actions"]]
    # sorted() is stable: within failures and within the rest, the order of the results stays.
    return sorted(not_handled + machines, key=lambda row: row["outcome"] != "failed")


def failures(files):
    """Files that could not be handled at all, then the machines that failed."""
    return [{name: row[name] for name in ("sha1", "machine_name", "machine_id", "error")}
            for row in machine_rows(files) if row["outcome"] == "failed"]


def quarantine_results(results):
    """The parts of the role's report that come from the module: ``files``, their ``summary``, ``failures``,
    ``machines`` (one short row per file and machine, failures first) and ``unknown_files``."""
    files = file_results(results)
    return {"summary": outcome_totals(files), "failures": failures(files), "files": files, "machines": machine_rows(files),
            "unknown_files": unknown_files(files)}


def outcome_counts(summary):
    """The outcomes of a summary that happened, as text: ``created 2, failed 1``; empty when none did."""
    return ", ".join("%s %s" % (outcome, count) for outcome, count in summary.items() if count)


def summary_lines(report, shown, report_path=None):
    """The role's closing message: the totals, a line per file, the first ``shown`` failed machines."""
    lines = ["%s%d file(s): %s" % ("CHECK MODE, nothing was changed. " if report["check_mode"] else "", len(report["files"]),
                                   outcome_counts(report["summary"]) or "no machine result")]
    for file in report["files"]:
        lines.append("%s: %s" % (file["sha1"], "not handled: %s" % file["error"] if file["error"] else
                                 outcome_counts(file["summary"]) or "no target"))
        if file.get("file_known") is False:
            # Next to the file's outcomes, because not_present alone reads as "nothing to do".
            lines.append("WARNING: %s" % unknown_file_warning(file["sha1"], report["check_mode"]))
    lines.extend(permission_lines(report["failures"]))
    for failure in report["failures"][:shown]:
        # Files that were not handled have their line above.
        if failure["machine_id"] or failure["machine_name"]:
            error = failure["error"] or {}
            machine = failure["machine_name"] or failure["machine_id"]
            lines.append("failed: %s on %s: %s: %s" % (failure["sha1"], machine, error.get("code"), error.get("message")))
    if len(report["failures"]) > shown:
        lines.append("... %d more failures: see the report" % (len(report["failures"]) - shown))
    queued = queued_rows(report)
    for row in queued[:shown]:
        lines.append("queued: %s on %s: %s" % (row["sha1"], row["machine_name"] or row["machine_id"], row["queued"].get("message")))
    if len(queued) > shown:
        lines.append("... %d more actions queued for offline machines: see the report" % (len(queued) - shown))
    if report_path:
        lines.append("Report: %s" % report_path)
    return lines


def missing_permissions(failures):
    """How many failed machines each missing application permission accounts for, in the order first met."""
    counts: dict[str, int] = {}
    for failure in failures:
        permission = (failure["error"] or {}).get("missing_permission")
        if permission:
            counts[permission] = counts.get(permission, 0) + 1
    return counts


def permission_lines(failures):
    """A line per missing application permission: what it stopped and how to grant it."""
    return ["The application lacks the permission %s (%d machine(s) refused or not sent): %s." % (
        permission, count, permission_hint(permission)) for permission, count in missing_permissions(failures).items()]


def queued_rows(report):
    """The machine rows whose action waits for an offline machine (outcome ``queued``), with why."""
    return [row for row in machine_rows(report["files"]) if row["outcome"] == "queued" and row.get("queued")]


MACHINE_TABLE_COLUMNS = ("outcome", "machine", "file", "status", "action id", "error")


def text_table(columns, cells, outcomes, shown, statistic):
    """Rows of text cells as aligned lines for the play output: a header, the first ``shown`` rows, then a line that
    counts the rows left out per outcome (``outcomes``, one per row) and names the ``statistic`` that has them all."""
    widths = [max(len(text) for text in column) for column in zip(columns, *cells[:shown])]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip() for line in [columns] + cells[:shown]]
    if len(cells) > shown:
        left_out: dict[str, int] = {}
        for outcome in outcomes[shown:]:
            left_out[outcome] = left_out.get(outcome, 0) + 1
        lines.append("... %d more rows (%s): every row is in the statistic %s (the job's artifacts in AWX)"
                     " and in the report file" % (len(cells) - shown, outcome_counts(left_out), statistic))
    return lines


def machine_table(report, shown):
    """The per-machine result as aligned text lines for the play output: a header, then the first ``shown`` rows of
    ``machine_rows`` (failures first), then a line that counts the rows left out and says where they all are."""
    rows = machine_rows(report["files"])
    cells = [[row["outcome"] or "-", row["machine_name"] or row["machine_id"] or "-", row["sha1"], row["status"] or "-",
              row["action_id"] or "-", "%s: %s" % (row["error"].get("code"), row["error"].get("message")) if row["error"] else "-"]
             for row in rows]
    return text_table(MACHINE_TABLE_COLUMNS, cells, [row["outcome"] for row in rows], shown, "quarantine_file_results")


# What a file's outcomes must include for it to count as quarantined somewhere (or, in check mode, about to be).
QUARANTINED = ("created", "existing", "would_create", "queued")


def unknown_and_untouched(files: list) -> list[str]:
    """The files (as file_results gives them) Defender has no record of and that nothing was quarantined for: most
    likely mistyped hashes."""
    return [file["sha1"] for file in files
            if file.get("file_known") is False and not any(file["summary"].get(outcome) for outcome in QUARANTINED)]


def unknown_sentence(unknown: list[str], accept: str | None) -> str:
    """What to do about files Defender has no record of; ``accept`` is the variable that accepts them, if the caller's
    users can set it."""
    return ("Defender has no record of %s and nothing was quarantined for %s: check the hash (a mistyped one gives this)"
            " and run again with the right one, or%s." % (
                ", ".join(unknown), "it" if len(unknown) == 1 else "them",
                " set %s to true to accept files Defender does not know" % accept if accept else " leave it out"))


def _set_to_true(names: Mapping, variable: str, purpose: str) -> str:
    """" set <the caller's name of variable> to true to <purpose>", or nothing when the caller's users cannot set it."""
    name = names.get(variable, variable)
    return " set %s to true to %s" % (name, purpose) if name else ""


def failure_message(report: Mapping, allow_partial: bool = False, fail_when_queued: bool = False,
                    allow_unknown_files: bool = False, names: Mapping | None = None, report_path: str | None = None) -> str:
    """Why the role fails the play, and what to do about each cause; empty when it does not fail.

    ``names`` maps the role's variables to the names its caller's users set them by (quarantine_file_variable_names).
    """
    names = names or {}
    failed = report["failures"]
    not_handled = [file for file in report["files"] if file["error"]]
    queued = report["summary"].get("queued", 0) if fail_when_queued else 0
    unknown = [] if allow_unknown_files else unknown_and_untouched(report["files"])
    if not (not_handled or unknown or (not allow_partial and len(failed) + queued)):
        return ""
    refused = sum(missing_permissions(failed).values())
    failed_machines = len(failed) - len(not_handled)
    causes = [cause for cause in ("%d failure(s)" % len(failed) if failed else "",
                                  "%d action(s) queued for offline machines" % queued if queued else "",
                                  "%d file(s) Defender has no record of" % len(unknown) if unknown else "") if cause]
    sentences = ["%s: see the summary above%s." % (" and ".join(causes), " and the report %s" % report_path if report_path else "")]
    if not_handled:
        sentences.append("%d file(s) could not be handled at all: fix the cause the summary names (credentials, permissions,"
                         " network) and run again; the machines already done are reported existing." % len(not_handled))
    if failed_machines > refused and not allow_partial:
        sentences.append("%d machine(s) failed:%s." % (
            failed_machines, _set_to_true(names, "quarantine_file_allow_partial", "accept failed machines") or " see why above"))
    if refused:
        sentences.append("%d machine(s) failed because the application lacks the permission %s: grant it with admin consent"
                         " as the summary above says, then run again with a new token." % (refused, ", ".join(missing_permissions(failed))))
    if queued and not allow_partial:
        sentences.append("Defender runs the queued actions when their machines next connect; they fail the run because %s is"
                         " true: set it to false to accept them." % names.get("quarantine_file_fail_when_queued", "quarantine_file_fail_when_queued"))
    if unknown:
        sentences.append(unknown_sentence(unknown, names.get("quarantine_file_allow_unknown_files", "quarantine_file_allow_unknown_files")))
    return " ".join(sentences)
