"""Every ansible-playbook, ansible-galaxy and make command the docs, the role README, the playbook header, the example
headers and the messages print, run exactly as printed through a shell against the simulator, and checked for what
arrives at Defender (comment, targets) against what the text promises.

A command found in the text must be in RUNS (with what it promises) or in NOT_RUN (with why), so that a new or
changed command cannot go unchecked; an entry found nowhere in the text fails too.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

import pytest
import yaml

from ansible_collections.mde.response.plugins.plugin_utils.playbook_variables import EXAMPLE_RUNS as PLAYBOOK_EXAMPLES

from tests.support.ansible_runner import REPO
from tests.simulator.config import AppRegistration
from tests.support.docs import guide_code_block
from tests.support.machine_actions import RESPONDER_ROLES, action_writes
from tests.support.quarantine import FAST, SHA1
from tests.support.reports import report_files, written

COMMAND_WORDS = ("ansible-playbook", "ansible-galaxy", "make")
COMMAND = re.compile(r"^(?:ansible-playbook|ansible-galaxy|ansible-inventory) \S|^make(?: [a-z]|$)")
FENCED_BLOCK = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"``(.+?)``|:code:`(.+?)`|`([^`]+)`")


def text_sources():
    patterns = ("README.md", "docs/**/*.md", "docs/**/*.rst", "docs/**/*.yml", "roles/*/README.md", "playbooks/*.yml")
    return sorted({path for pattern in patterns for path in glob.glob(os.path.join(REPO, pattern), recursive=True)})


def message_sources():
    return sorted(glob.glob(os.path.join(REPO, "playbooks", "*.yml")) + glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")))


def printed_lines(path):
    """The lines a reader copies: console lines without their prompt, and comment lines of YAML files."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if path.endswith((".yml", ".yaml")):
                if line.lstrip().startswith("#"):
                    yield line.lstrip().lstrip("#").strip()
            elif path.endswith(".rst") and line.lstrip().startswith("$ "):
                # A console block of a guide, indented under its directive.
                yield line.lstrip()[2:].strip()
            elif line.startswith("$ "):
                yield line[2:].strip()
            elif line.startswith("    ") and not line.lstrip().startswith("#"):
                # The continuation of a console command.
                yield line.strip()


def commands_in(path):
    found, lines = [], list(printed_lines(path))
    for number, line in enumerate(lines):
        if COMMAND.match(line):
            command = line
            while command.endswith("\\") and number + 1 < len(lines):
                number += 1
                command = command[:-1].rstrip() + " " + lines[number]
            found.append(command)
    with open(path, encoding="utf-8") as handle:
        prose = FENCED_BLOCK.sub("", handle.read())
    for match in INLINE_CODE.finditer(prose):
        span = next(group for group in match.groups() if group)
        if COMMAND.match(span):
            found.append(span)
    return found


def strings_of(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_of(value)


def commands_in_messages(path):
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return [text[text.index(word):].strip() for text in strings_of(document) for word in COMMAND_WORDS[:2] if word + " " in text]


def documented_commands():
    """{command: [files it is printed in]}, shell comments at the end of a console line removed."""
    commands = {}
    for path in text_sources():
        for command in commands_in(path):
            commands.setdefault(re.sub(r"\s+#.*$", "", command), set()).add(os.path.relpath(path, REPO))
    for path in message_sources():
        for command in commands_in_messages(path):
            commands.setdefault(" ".join(command.split()), set()).add(os.path.relpath(path, REPO))
    # The commands the playbooks print when their extra variables are wrong.
    for command in PLAYBOOK_EXAMPLES.values():
        commands.setdefault(command, set()).add("plugins/plugin_utils/playbook_variables.py")
    return commands


# --- what each runnable command promises, and how the test prepares the simulator for it ----------------------------

def seed_named(simulator, names, sha1=SHA1, machine_ids=None):
    machines = [simulator.add_machine(name, machine_id=(machine_ids or {}).get(name), observed_files=[sha1]) for name in names]
    simulator.add_file(sha1, observed_on=[machine["id"] for machine in machines])
    return {machine["computerDnsName"]: machine["id"] for machine in machines}


def comments_written(simulator):
    return {entry["body"]["Comment"] for entry in simulator.log_for(route="machines.StopAndQuarantineFile")}


def names_written(simulator, machines, sha1=SHA1):
    by_id = {machine_id: name for name, machine_id in machines.items()}
    return sorted(by_id[machine_id] for machine_id, written_sha1 in written(simulator) if written_sha1 == sha1)


def check_run_promises(workdir, simulator, machines):
    """README, authentication: check mode sends nothing, and would quarantine on both machines with the whole comment."""
    assert written(simulator) == []
    report = recorded_fact(workdir, "quarantine_file_report")
    assert report["comment"] == "INC-4711: ransomware dropper"
    assert sorted(action["machine_name"] for action in report["files"][0]["actions"]) == sorted(machines)
    assert report["summary"]["would_create"] == 2


def first_run_promises(comment, names, sha1=SHA1):
    def check(_workdir, simulator, machines):
        assert comments_written(simulator) == {comment}
        assert names_written(simulator, machines, sha1=sha1) == sorted(names)
    return check


def header_promises(workdir, simulator, machines):
    """The playbook header: both names and every machine that observed the file, waited for, a report in ./reports."""
    assert comments_written(simulator) == {"INC-4711: ransomware dropper"}
    assert names_written(simulator, machines) == sorted(machines)
    report = report_files(os.path.join(workdir, "reports"))[0]
    assert report["waited"] is True and report["summary"]["created"] == len(machines)


def cancel_promises(_workdir, simulator, _machines):
    cancels = simulator.log_for(method="POST", route="machineactions.cancel")
    assert len(cancels) == 1 and cancels[0]["body"]["Comment"] == "INC-4711: false positive"


def observed_report_promises(workdir, simulator, machines):
    assert names_written(simulator, machines) == sorted(machines)
    report = report_files(os.path.join(workdir, "reports"))[0]
    assert report["summary"]["created"] == len(machines)


def indicator_values(simulator):
    return sorted((indicator["indicatorValue"].lower(), indicator["action"], indicator["title"]) for indicator in simulator.indicators.indicators())


def contain_promises(comment, report=False):
    """The contain playbook: the BlockAndRemediate indicator titled with the comment, then a quarantine with the
    comment on every machine that observed the file (and, when asked, a report in ./reports)."""
    def check(workdir, simulator, machines):
        assert indicator_values(simulator) == [(SHA1, "BlockAndRemediate", comment)]
        assert comments_written(simulator) == {comment}
        assert names_written(simulator, machines) == sorted(machines)
        if report:
            assert glob.glob(os.path.join(workdir, "reports", "*.json"))
    return check


def prepare_release(_workdir, simulator):
    machines = seed_named(simulator, ["ws-0042.contoso.local"])
    simulator.indicators.add_indicator(SHA1, action="BlockAndRemediate", title="INC-4711: ransomware dropper")
    simulator.add_machine_action(machines["ws-0042.contoso.local"], SHA1, status="Pending")
    return machines


def release_promises(_workdir, simulator, _machines):
    assert simulator.indicators.indicators() == []
    assert [entry["method"] for entry in simulator.request_log if entry["route"] == "indicators.delete"] == ["DELETE"]
    cancel_promises(_workdir, simulator, _machines)


def recorded_fact(workdir, name):
    [results] = glob.glob(os.path.join(workdir, "results-*.jsonl"))
    with open(results, encoding="utf-8") as handle:
        facts = [json.loads(line)["result"].get("ansible_facts", {}) for line in handle if line.strip()]
    return [fact[name] for fact in facts if name in fact][-1]


def prepare_by_name_and_id(workdir, simulator):
    with open(os.path.join(workdir, "connection.json"), "w", encoding="utf-8") as handle:
        json.dump(simulator.connection, handle)
    return seed_named(simulator, ["ws-0042.contoso.local", "ws-0099.contoso.local"],
                      machine_ids={"ws-0099.contoso.local": "4f9c2d6e8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d"})


def prepare_inventory(workdir, simulator):
    with open(os.path.join(REPO, "docs", "examples", "quarantine_inventory_group.yml"), encoding="utf-8") as handle:
        header = handle.read().split("with an inventory such as:\n", 1)[1].split("\n- name:", 1)[0]
    with open(os.path.join(workdir, "inventory.ini"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(line.lstrip("#").strip() for line in header.splitlines()) + "\n")
    return seed_named(simulator, ["ws-0042.contoso.local", "ws-0043.contoso.local"])


def prepare_machines_inventory(workdir, simulator):
    """The inventory guide: the demo fleet, and the inventory file exactly as printed (the YAML block headed "# defender.mde.yml")."""
    block = guide_code_block("inventory", "# defender.mde.yml\n")
    with open(os.path.join(workdir, "defender.mde.yml"), "w", encoding="utf-8") as handle:
        handle.write(block)
    return {machine["computerDnsName"]: machine["id"] for machine in simulator.seed_demo()["machines"]}


def graph_promises(workdir, simulator, machines):
    """The inventory guide: the demo fleet's groups and hosts, from one filtered listing."""
    with open(os.path.join(workdir, "output.txt"), encoding="utf-8") as handle:
        graph = handle.read()
    assert "@mde_tag_finance:" in graph and "@mde_os_windows11:" in graph
    assert all("--%s" % name in graph for name in machines)
    [listing] = simulator.log_for(route="machines.list")
    assert "onboardingStatus eq 'Onboarded'" in urllib.parse.unquote_plus(listing["query"])


def prepare_cancel(_workdir, simulator):
    machines = seed_named(simulator, ["ws-0042.contoso.local"])
    simulator.add_machine_action(machines["ws-0042.contoso.local"], SHA1, status="Pending")
    return machines


def seed_fast(names):
    def prepare(_workdir, simulator):
        simulator.configure(clock_speed=FAST)
        return seed_named(simulator, names)
    return prepare


def seed_names(names, sha1=SHA1):
    return lambda _workdir, simulator: seed_named(simulator, names, sha1=sha1)


# The demo fleet's machines that observed the file, as the simulator guide's table lists them.
DEMO_OBSERVERS = ("ws-0042.contoso.local", "ws-0043.contoso.local", "ws-0044.contoso.local", "ws-0099.contoso.local",
                  "srv-01.contoso.local", "laptop-07.contoso.local")


def demo_fleet(names=DEMO_OBSERVERS):
    """The simulator's --demo-fleet, which the simulator guide runs these commands against: {name: id} of ``names``."""
    def prepare(_workdir, simulator):
        demo = simulator.seed_demo()
        assert demo["malicious_sha1"] == SHA1, "the demo fleet's file is the one the documentation names"
        return {machine["computerDnsName"]: machine["id"] for machine in demo["machines"] if machine["computerDnsName"] in names}
    return prepare


def prepare_responder(_workdir, simulator):
    """The machine_action playbook's first run: ws-0042, and the default app allowed to isolate."""
    connection = simulator.connection
    simulator.register_app(AppRegistration(connection["client_id"], secret=connection["client_secret"], roles=RESPONDER_ROLES))
    return seed_named(simulator, ["ws-0042.contoso.local"])


def isolate_promises(_workdir, simulator, machines):
    assert action_writes(simulator) == [("Isolate", machines["ws-0042.contoso.local"], 201)]
    assert {entry["body"]["Comment"] for entry in simulator.log_for(route="machines.isolate")} == {"INC-4711: ransomware dropper"}


RUNS = {
    "ansible-inventory -i defender.mde.yml --graph": (prepare_machines_inventory, graph_promises),
    PLAYBOOK_EXAMPLES["machine_action"]: (prepare_responder, isolate_promises),
    "ansible-playbook mde.response.quarantine --check -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: ransomware dropper\"' -e machine_names=ws-0042.contoso.local,ws-0043.contoso.local":
        (demo_fleet(["ws-0042.contoso.local", "ws-0043.contoso.local"]), check_run_promises),
    "ansible-playbook mde.response.quarantine -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: ransomware dropper\"' -e machine_names=ws-0042.contoso.local,ws-0043.contoso.local "
    "-e observed=true -e wait=true -e report_dir=./reports":
        (seed_fast(["ws-0042.contoso.local", "ws-0043.contoso.local", "ws-0044.contoso.local"]), header_promises),
    "ansible-playbook mde.response.quarantine -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: ransomware dropper\"' -e machine_names=ws-0042.contoso.local":
        (demo_fleet(["ws-0042.contoso.local"]), first_run_promises("INC-4711: ransomware dropper", ["ws-0042.contoso.local"])),
    "ansible-playbook docs/examples/cancel_pending_quarantine.yml -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: false positive\"'":
        (prepare_cancel, cancel_promises),
    "ansible-playbook docs/examples/quarantine_by_name_and_id.yml -e mde_connection_file=\"$PWD/connection.json\" "
    "-e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e '{\"machine_names\": [\"ws-0042.contoso.local\"], \"machine_ids\": [\"4f9c2d6e8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d\"]}'":
        (prepare_by_name_and_id, first_run_promises("Quarantined by mde.response", ["ws-0042.contoso.local", "ws-0099.contoso.local"])),
    "ansible-playbook -i inventory.ini docs/examples/quarantine_inventory_group.yml -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9":
        (prepare_inventory, first_run_promises("Quarantined on the finance workstations by mde.response",
                                               ["ws-0042.contoso.local", "ws-0043.contoso.local"])),
    "ansible-playbook docs/examples/quarantine_observed_and_report.yml -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e report_dir=./reports":
        (seed_fast(["ws-0042.contoso.local", "ws-0043.contoso.local"]), observed_report_promises),
    "ansible-playbook mde.response.contain -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: ransomware dropper\"'":
        (demo_fleet(), contain_promises("INC-4711: ransomware dropper")),
    "ansible-playbook mde.response.contain -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 -e comment=INC-4711":
        (demo_fleet(), contain_promises("INC-4711")),
    "ansible-playbook mde.response.contain -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: ransomware dropper\"' -e expiration=30d -e wait=true -e report_dir=./reports":
        (seed_fast(["ws-0042.contoso.local", "ws-0043.contoso.local"]), contain_promises("INC-4711: ransomware dropper", report=True)),
    "ansible-playbook mde.response.contain -e state=absent -e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 "
    "-e 'comment=\"INC-4711: false positive\"'":
        (prepare_release, release_promises),
}

# Commands that need no simulator: run in a copy of the repository, checked by what they leave behind.
BUILD_AND_INSTALL = (
    "ansible-galaxy collection build --force --output-path build/ .",
    "ansible-galaxy collection install build/mde-response-0.1.0.tar.gz",
)
LOCAL_RUNS = {
    "ansible-galaxy collection build --force --output-path docs/execution-environment .":
        lambda copy, _output: os.path.isfile(os.path.join(copy, "docs", "execution-environment", "mde-response-0.1.0.tar.gz")),
    "ansible-galaxy collection list": lambda _copy, output: "mde.response" in output,
    "make help": lambda _copy, output: "make demo" in output and "make test" in output,
    # Both runs of the demo show the plan and the table per machine; the first quarantines four machines, showing its
    # progress while it writes and waits for the actions, the second plans no write and adds no call.
    "make demo": lambda _copy, output: (
        output.count("StopAndQuarantineFile calls received by the simulator so far: 4") == 2
        and "Plan: 4 of 4 machine result(s)" in output and "Plan: 0 of 4 machine result(s)" in output
        and re.search(r"^87662bc3d60e4200ceaf7aae249d1c343f4b83c9: \d/4 machines done", output.split("=== Second run")[0], re.M) is not None
        and "waiting for the actions to finish" in output.split("=== Second run")[0]
        and output.count("Show the result per machine") == 2),
}

NOT_RUN = {
    "ansible-playbook mde.response.isolate_on_alert -e machine_id=1e5bc9d7e413ddd7902c2932e418702b84d0cc07 "
    "-e alert_id=da637472900382838869_1364969609 -e 'alert_title=\"Ransomware behavior detected\"'":
        "test_isolate_on_alert.py runs the playbook with the variables its rulebook renders from such an alert",
    "ansible-playbook mde.response.isolate_on_alert -e machine_id=1e5bc9d7e413ddd7902c2932e418702b84d0cc07 "
    "-e alert_id=da637472900382838869_1364969609":
        "the same run without a title, printed when the playbook is run without its machine or alert",
    "ansible-playbook docs/examples/contain_machine.yml -e machine_names=ws-0042.contoso.local "
    "-e 'comment=\"INC-4711: ransomware\"' -e package_dir=./packages -e report_dir=./reports":
        "test_examples.py runs the example with these variables but report_dir (test_role_machine_action.py reads the report files)",
    "ansible-galaxy collection install git+https://github.com/mde-response/mde.response.git,main":
        "fetches from GitHub: the tests have only loopback; the two commands that build and install from a checkout run instead",
    "make bench BENCH_ARGS=\"--scenario containment\"": "a benchmark scenario takes minutes; test_bench_containment.py runs it on a small fleet",
    "make bench BENCH_ARGS=\"--scenario tagging\"": ("two ansible-playbook runs on 1,000 machines; test_machine_tags.py tags 1,000 "
                                                     "machines in process and test_bench.py checks the target's verdict"),
    "make bench BENCH_ARGS=\"--scenario inventory\"": "reads 10,000 machines twice, a minute; test_bench.py runs the scenario on a small fleet",
    "ansible-playbook docs/examples/credentials_once.yml -e @vault.yml --ask-vault-pass "
    "-e sha1=87662bc3d60e4200ceaf7aae249d1c343f4b83c9 -e tag=finance":
        "asks for a vault password on the terminal; test_examples.py runs the playbook with the same variables",
    "make test": "runs every suite, this one included",
    "make test-matrix": "builds a second virtualenv on Python 3.12 or 3.13; minutes",
    "make bench": "the benchmark takes minutes; test_bench.py runs its harness on small fleets",
    "make bench BENCH_ARGS=\"--scenario first-run\"": "a benchmark scenario takes minutes; test_bench.py runs its harness",
    "make bench BENCH_ARGS=\"--scenario first-run --clock-speed 1\"": "ten minutes in real time",
    "make bench BENCH_ARGS=\"--scenario isolation --record\"": (
        "isolates 1,000 machines through a minute of real time and rewrites docs/performance.md; "
        "test_bench_machine_actions.py checks its targets and the recording of a partial run"),
    "make docs": "rewrites docs/plugins; make test's docs-check stage runs it into build/",
    "make sync": "rewrites the generated copies of the connection options; make test's sync-check stage checks them",
    "make sync-check": "a stage of make test",
    "ansible-playbook mde.response.quarantine -i inventory.yml -e sha1=04c6f0d2c2b0e7a6b1e1f1f8a2b63c3a9f2a1a10 "
    "-e machine_ids=1e5bc9d7e413ddd7902c2932e418702b84d0cc07 -e 'comment=\"Defender alert da637472900382838869_1364969609: "
    "quarantined by hand\"'":
        "the playbook through docs/eda.md's inventory, as tests/eda/test_quarantine_on_alert.py runs it (make test-eda)",
    "make test-eda": "builds a third virtualenv with ansible-rulebook and needs Java 17; minutes",
    "make ee": "builds a container image with ansible-builder and podman or docker; minutes, and a container runtime",
    "make venv tree": "creates the virtualenv and the collection tree every test already runs from",
}


def test_every_documented_command_is_run_or_says_why_not():
    documented = documented_commands()
    known = set(RUNS) | set(LOCAL_RUNS) | set(BUILD_AND_INSTALL) | set(NOT_RUN)
    unchecked = {command: sorted(paths) for command, paths in documented.items() if command not in known}
    assert not unchecked, "add these commands to RUNS (with what they promise) or NOT_RUN (with why):\n%s" % json.dumps(unchecked, indent=1)
    assert sorted(known - set(documented)) == [], "no longer printed anywhere: remove them from the tables"


def shell_environment(ansible, **overrides):
    environment = ansible.environment(**overrides)
    environment["PATH"] = os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", "")
    return environment


@pytest.mark.parametrize("command", sorted(RUNS))
def test_documented_command_does_what_it_says(command, simulator, ansible):
    prepare, promises = RUNS[command]
    workdir = ansible.workdir
    # Paths in the commands are relative to the repository root; whatever they write stays in the test's folder.
    os.symlink(os.path.join(REPO, "docs"), os.path.join(workdir, "docs"))
    machines = prepare(workdir, simulator)
    environment = shell_environment(ansible, MDE_TIME_SCALE=FAST if simulator.config.clock_speed == FAST else None)
    environment["MDE_TEST_RESULTS"] = os.path.join(workdir, "results-1.jsonl")

    completed = subprocess.run(["sh", "-c", command], cwd=workdir, env=environment, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(os.path.join(workdir, "output.txt"), "w", encoding="utf-8") as handle:
        handle.write(completed.stdout)
    promises(workdir, simulator, machines)


@pytest.fixture
def repository_copy(tmp_path):
    copy = tmp_path / "mde.response"
    shutil.copytree(REPO, copy, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv*", ".collection-tree", "build", "tests"))
    return str(copy)


def here_environment(**environment):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collection-tree"))
    env.update(environment)
    return env


def run_here(command, cwd, **environment):
    env = here_environment(**environment)
    completed = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, command + "\n" + completed.stdout + completed.stderr
    return completed.stdout


def test_the_build_and_install_commands_install_the_collection(repository_copy, tmp_path):
    installed = tmp_path / "collections"
    for command in BUILD_AND_INSTALL:
        run_here(command, repository_copy, ANSIBLE_COLLECTIONS_PATH=str(installed))

    with open(installed / "ansible_collections" / "mde" / "response" / "MANIFEST.json", encoding="utf-8") as handle:
        assert json.load(handle)["collection_info"]["name"] == "response"


def run_here_line_by_line(command, cwd):
    """run_here, with the time each line of the output arrived (seconds since the start)."""
    started, arrived = time.monotonic(), []
    with subprocess.Popen(["sh", "-c", command], cwd=cwd, env=here_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            arrived.append((time.monotonic() - started, line))
    output = "".join(line for _when, line in arrived)
    assert process.returncode == 0, command + "\n" + output
    return output, arrived


# A progress line of the demo's first run comes while the play waits for the actions: well before that run ends.
PROGRESS_AHEAD_SECONDS = 5


@pytest.mark.parametrize("command", sorted(LOCAL_RUNS))
def test_documented_local_command_works(command, repository_copy):
    cwd = REPO if command.startswith("make ") else repository_copy
    output, arrived = run_here_line_by_line(command, cwd)
    assert LOCAL_RUNS[command](repository_copy, output), output
    if command == "make demo":
        first_progress = next(when for when, line in arrived if "machines done" in line)
        first_run_end = next(when for when, line in arrived if "calls received by the simulator so far" in line)
        assert first_run_end - first_progress > PROGRESS_AHEAD_SECONDS, "the demo's output arrives after the fact"
