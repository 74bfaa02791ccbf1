# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contain role's report: per file, its indicator and its machines, from the registered loop results.

``contain_report`` takes the ``results`` lists that the role's two loops register (``file_indicator``, then
``stop_and_quarantine_file``, one item per file) and returns one dict that the JSON report, the Markdown template,
the play output and ``set_stats`` all read, so that the counts are defined once.
"""

from __future__ import annotations

# Shown in the play output; the report files have them all.
FAILURES_SHOWN = 20


def _item(result):
    item = result.get("item")
    return item.get("item") if isinstance(item, dict) else item


def _error(result, what):
    """Why a loop item has no result, or None when it has one."""
    if what in result:
        return None
    return result.get("msg") or "the module returned no result"


def contain_report(indicator_results, quarantine_results, comment, state, check_mode, generated):
    """The report dict (see the role's README) from the two loops' ``results``."""
    quarantines = {_item(result): result for result in quarantine_results}
    files, failures = [], []
    indicator_totals, machine_totals = {}, {}
    for indicator_result in indicator_results:
        sha1 = _item(indicator_result)
        quarantine = quarantines.get(sha1, {})
        indicator_error = _error(indicator_result, "outcome")
        indicator_outcome = "failed" if indicator_error else indicator_result["outcome"]
        entity = indicator_result.get("indicator") or {}
        quarantine_error = _error(quarantine, "actions")
        summary = quarantine.get("summary") or {}
        files.append({
            "sha1": sha1,
            "indicator": {"outcome": indicator_outcome, "id": entity.get("id"), "action": entity.get("action"),
                          "expiration": entity.get("expirationTime"), "error": indicator_error},
            "machines": {"summary": summary, "actions": quarantine.get("actions") or [], "error": quarantine_error},
        })
        indicator_totals[indicator_outcome] = indicator_totals.get(indicator_outcome, 0) + 1
        for outcome, count in summary.items():
            machine_totals[outcome] = machine_totals.get(outcome, 0) + count
        if indicator_error:
            failures.append({"sha1": sha1, "what": "indicator", "machine_name": None, "machine_id": None,
                             "error": {"code": "IndicatorNotSet", "message": indicator_error}})
        if quarantine_error:
            failures.append({"sha1": sha1, "what": "machines", "machine_name": None, "machine_id": None,
                             "error": {"code": "NotHandled", "message": quarantine_error}})
        failures.extend({"sha1": sha1, "what": "machine", "machine_name": entry.get("machine_name"), "machine_id": entry.get("machine_id"),
                         "error": entry.get("error")} for entry in quarantine.get("actions") or () if entry.get("outcome") == "failed")
    return {
        "generated": generated,
        "state": state,
        "comment": comment,
        "check_mode": bool(check_mode),
        "summary": {"indicators": indicator_totals, "machines": machine_totals},
        "failures": failures,
        "files": files,
    }


def _counts(totals):
    return ", ".join("%s %d" % (outcome, count) for outcome, count in totals.items() if count) or "none"


def summary_lines(report):
    """The play output: totals, one line per file, then the first failures."""
    lines = ["%s%d file(s): indicators %s; machines %s" % ("CHECK MODE, nothing was changed. " if report["check_mode"] else "",
                                                          len(report["files"]), _counts(report["summary"]["indicators"]),
                                                          _counts(report["summary"]["machines"]))]
    for file in report["files"]:
        lines.append("%s: indicator %s; machines %s" % (file["sha1"], file["indicator"]["outcome"], _counts(file["machines"]["summary"])))
    for failure in report["failures"][:FAILURES_SHOWN]:
        error = failure["error"] or {}
        where = failure["machine_name"] or failure["machine_id"] or failure["what"]
        lines.append("failed: %s on %s: %s: %s" % (failure["sha1"], where, error.get("code"), error.get("message")))
    if len(report["failures"]) > FAILURES_SHOWN:
        lines.append("... %d more failures: see the report" % (len(report["failures"]) - FAILURES_SHOWN))
    return lines
