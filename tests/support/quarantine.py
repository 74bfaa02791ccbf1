"""Building blocks the integration suites share: seeding the simulator, running the module, reading results."""

SHA1 = "87662bc3d60e4200ceaf7aae249d1c343f4b83c9"
OTHER_SHA1 = "a0c659857ccbe457fdaf5fe21d54efdcbf6f6508"
# SHA1 with two digits swapped: well formed, and no simulated tenant has a record of it.
TYPO_SHA1 = SHA1[:10] + SHA1[11] + SHA1[10] + SHA1[12:]
WRITE = "machines.StopAndQuarantineFile"
LIST_ACTIONS = "machineactions.list"
# Simulated seconds per real second for tests that live through the action lifecycle; the module's clock is
# accelerated by the same factor through MDE_TIME_SCALE.
FAST = 120


def seed(simulator, count, prefix="ws", **machine_options):
    machines = [simulator.add_machine(name="%s-%02d.contoso.local" % (prefix, number), observed_files=[SHA1], **machine_options)
                for number in range(1, count + 1)]
    simulator.add_file(SHA1, observed_on=[machine["id"] for machine in machines])
    return machines


def ids(machines):
    return [machine["id"] for machine in machines]


def quarantine(ansible, check=False, env=None, **options):
    run = ansible.playbook("quarantine.yml", extra_vars=dict(sha1=SHA1, **options), check=check, env=env)
    return run, run.result("Quarantine")


def quarantine_in_process(modules, check=False, env=None, **options):
    """The module's run as quarantine() makes it, in this process (tests/support/in_process.py): (run, result)."""
    options.setdefault("comment", "integration test")
    run = modules.run("stop_and_quarantine_file", check=check, env=env, sha1=SHA1, **options)
    return run, run.result


def outcomes(result):
    return {entry["machine_id"]: entry["outcome"] for entry in result["actions"]}


def writes(simulator):
    return simulator.log_for(route=WRITE)


def quarantine_result(ansible, **options):
    """The module's result alone, for runs whose exit code the test does not care about."""
    return quarantine(ansible, **options)[1]
