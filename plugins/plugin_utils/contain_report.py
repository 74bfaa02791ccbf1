# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contain role's report: per file, its indicator and its machines, from the registered loop results.

``contain_report`` takes the ``results`` lists that the role's two loops register (``file_indicator``, then
``stop_and_quarantine_file``, one item per file) and returns one dict that the JSON report, the Markdown template,
the play output and ``set_stats`` all read. The machines' part is counted exactly as the quarantine_file role counts
it (quarantine_report.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.mde.response.plugins.plugin_utils.quarantine_report import (
    NO_RESULT, failures, file_results, outcome_counts, outcome_totals, unknown_and_untouched, unknown_files, unknown_sentence)

# Failed machines named in the play output; the report files have them all.
FAILURES_SHOWN = 20


def _indicator(result):
    """The indicator part of a file's entry from the file_indicator loop result."""
    error = None if "outcome" in result else result.get("msg", NO_RESULT)
    entity = result.get("indicator") or {}
    return {"outcome": "failed" if error else result["outcome"], "id": entity.get("id"), "action": entity.get("action"),
            "expiration": entity.get("expirationTime"), "error": error}


def contain_report(indicator_results, quarantine_results, comment, state, check_mode, generated):
    """The report: ``files`` (sha1, indicator, machines), ``summary`` (indicators, machines), ``failures`` and the run's facts."""
    machines = {file["sha1"]: file for file in file_results(quarantine_results)}
    files: list[Any] = []
    indicator_failures: list[Any] = []
    indicator_totals: dict[str, int] = {}
    for result in indicator_results:
        item = result.get("item")
        sha1 = item.get("item") if isinstance(item, Mapping) else item
        indicator = _indicator(result)
        file = machines.get(sha1) or {"sha1": sha1, "error": NO_RESULT, "summary": {}, "actions": []}
        files.append({"sha1": sha1, "indicator": indicator,
                      "machines": {"summary": file["summary"], "actions": file["actions"], "error": file["error"]}})
        indicator_totals[indicator["outcome"]] = indicator_totals.get(indicator["outcome"], 0) + 1
        if indicator["error"]:
            indicator_failures.append({"sha1": sha1, "machine_name": None, "machine_id": None,
                                       "error": {"code": "IndicatorNotSet", "message": indicator["error"]}})
    machine_files = list(machines.values())
    return {
        "generated": generated,
        "state": state,
        "comment": comment,
        "check_mode": bool(check_mode),
        "summary": {"indicators": indicator_totals, "machines": outcome_totals(machine_files)},
        "failures": indicator_failures + failures(machine_files),
        "files": files,
        "unknown_files": unknown_files(machine_files),
        # Of those, the ones nothing was quarantined for: their indicator blocks a hash that is most likely mistyped.
        "unknown_untouched": unknown_and_untouched(machine_files),
    }


def contain_failure(report: Mapping, allow_partial: bool = False, allow_unknown_files: bool = False,
                    names: Mapping | None = None, report_dir: str | None = None) -> str:
    """Why the role fails the play, and what to do; empty when it does not. ``names`` maps the role's variables to
    the names its caller's users set them by (contain_variable_names)."""
    names = names or {}
    failed = [] if allow_partial else report["failures"]
    # Releasing an unknown file's indicator is no containment to trust; only contain is checked.
    unknown = [] if allow_unknown_files or report["state"] != "present" else report["unknown_untouched"]
    sentences = []
    if failed:
        sentences.append("%d failure(s): see the summary above%s. Set %s to true to accept them." % (
            len(failed), " and the report in %s" % report_dir if report_dir else "",
            names.get("contain_allow_partial", "contain_allow_partial")))
    if unknown:
        sentences.append(unknown_sentence(unknown, names.get("contain_allow_unknown_files", "contain_allow_unknown_files")))
    return " ".join(sentences)


def summary_lines(report):
    """The play output: totals, one line per file (with why its indicator or machines failed), the first failed machines."""
    summary = report["summary"]
    check_mode = "CHECK MODE, nothing was changed. " if report["check_mode"] else ""
    totals = (check_mode, len(report["files"]), outcome_counts(summary["indicators"]) or "none", outcome_counts(summary["machines"]) or "none")
    lines = ["%s%d file(s): indicators %s; machines %s" % totals]
    for file in report["files"]:
        indicator, machines = file["indicator"], file["machines"]
        lines.append("%s: indicator %s; machines %s" % (
            file["sha1"], "not set: %s" % indicator["error"] if indicator["error"] else indicator["outcome"],
            "not handled: %s" % machines["error"] if machines["error"] else outcome_counts(machines["summary"]) or "no target"))
    failed_machines = [failure for failure in report["failures"] if failure["machine_id"] or failure["machine_name"]]
    for failure in failed_machines[:FAILURES_SHOWN]:
        error = failure["error"] or {}
        lines.append("failed: %s on %s: %s: %s" % (failure["sha1"], failure["machine_name"] or failure["machine_id"], error.get("code"),
                                                   error.get("message")))
    if len(failed_machines) > FAILURES_SHOWN:
        lines.append("... %d more failed machines: see the report" % (len(failed_machines) - FAILURES_SHOWN))
    return lines
