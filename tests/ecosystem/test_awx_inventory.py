"""AWX / Automation Controller: an inventory source of mde.response.machines, updated the way AWX updates one.

AWX runs an inventory update through ansible-runner: `ansible-inventory -i <the project's source file> --list
--export` with the source's credential injected as environment variables, and imports the JSON it prints. This test
does the same with the file docs/awx.md shows and the collection's credential type, against the simulator.
"""

import json
import os
import re

import ansible_runner

from tests.ecosystem.test_awx import OPTION_OF_VARIABLE, credential_type, inject, read
from tests.ecosystem.tools import REPO, environment, tool


def inventory_source():
    """The inventory file docs/awx.md tells users to put in their project (the YAML block headed "# defender.mde.yml")."""
    blocks = re.findall(r"^```yaml\n(# defender\.mde\.yml\n.*?)^```", read(os.path.join(REPO, "docs", "awx.md")), flags=re.M | re.S)
    assert len(blocks) == 1, "docs/awx.md should show the inventory source file once"
    return blocks[0]


def test_an_inventory_source_with_the_collections_credential_type_imports_the_fleet(simulator, tmp_path, monkeypatch):
    finance = simulator.add_machine("desktop-01.contoso.local", tags=("finance",))
    simulator.add_machine("desktop-02.contoso.local", onboarding_status="CanBeOnboarded")
    connection = simulator.connection
    project = tmp_path / "project"
    project.mkdir()
    (project / "defender.mde.yml").write_text(inventory_source(), encoding="utf-8")
    credential = inject(credential_type(), {"tenant_id": connection["tenant_id"], "client_id": connection["client_id"],
                                            "client_secret": connection["client_secret"], "api_url": connection["api_url"],
                                            "authority_host": connection["authority_host"], "ca_bundle": read(simulator.ca_path)},
                        tmp_path / "credential")
    # The process environment stands for the execution environment: the collection installed, and none of the
    # connection variables of whoever runs the tests.
    for name, value in environment(ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collection-tree"), XDG_CACHE_HOME=str(tmp_path / "cache"),
                                   ANSIBLE_NOCOLOR="1").items():
        monkeypatch.setenv(name, value)
    for name in OPTION_OF_VARIABLE:
        monkeypatch.delenv(name, raising=False)

    output, errors, rc = ansible_runner.run_command(
        executable_cmd=tool("ansible-inventory"), cmdline_args=["-i", str(project / "defender.mde.yml"), "--list", "--export"],
        private_data_dir=str(tmp_path / "runner"), envvars=credential, input_fd=None)

    assert rc == 0, output + errors
    imported = json.loads(output[output.index("{"):])
    assert sorted(imported["_meta"]["hostvars"]) == ["desktop-01.contoso.local"]
    assert imported["mde_tag_finance"]["hosts"] == ["desktop-01.contoso.local"]
    assert "mde_id" in json.dumps(imported["_meta"]["hostvars"]["desktop-01.contoso.local"]) and finance["id"] in output
    assert connection["client_secret"] not in output + errors
    [listing] = simulator.log_for(route="machines.list")
    assert "onboardingStatus" in listing["query"]
