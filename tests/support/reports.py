"""Reading back what the quarantine_file role leaves behind: its report files, its fact, the calls it caused."""

import glob
import json
import os

from tests.support.quarantine import WRITE


def report_files(folder):
    """The (JSON, Markdown) report of the only run that wrote to ``folder``, parsed."""
    [json_path] = glob.glob(os.path.join(folder, "quarantine-*.json"))
    markdown_path = json_path[:-len(".json")] + ".md"
    with open(json_path, encoding="utf-8") as handle:
        report = json.load(handle)
    with open(markdown_path, encoding="utf-8") as handle:
        table = markdown_table(handle.read())
    return report, table


def markdown_table(text):
    """The rows of the Markdown table in ``text`` as dicts keyed by the header, escaped pipes restored."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, rows = _cells(lines[0]), lines[2:]
    assert set(lines[1].replace("|", "")) == {"-"}, "the second table line must be the separator"
    return [dict(zip(header, _cells(line))) for line in rows]


def _cells(line):
    placeholder = "\0"
    cells = line.replace("\\|", placeholder).strip().strip("|").split("|")
    return [cell.strip().replace(placeholder, "|") for cell in cells]


def written(simulator):
    """(machine id, sha1) of every StopAndQuarantineFile call the simulator received."""
    return sorted((entry["path"].split("/")[3], entry["body"]["Sha1"]) for entry in simulator.log_for(route=WRITE))


def report_rows(report):
    """(file, machine id, outcome) of every machine result in the role's report."""
    return sorted((file["sha1"], entry["machine_id"], entry["outcome"]) for file in report["files"] for entry in file["actions"])
