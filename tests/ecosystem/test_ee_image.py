"""The example execution environment, built for real: ansible-builder builds docs/execution-environment from a
local base image (tests/ecosystem/ee/base.sh), then a job of mde.response.quarantine runs inside the container the
way AWX runs one: ansible-runner over a private data directory, as the image's non-root user, with nothing in its
environment but what the stock Azure credential injects and where the simulator (on the host) is.

`make ee` makes the base image and runs these tests; without it (MDE_EE_BASE_IMAGE unset) they are skipped.
"""

import hashlib
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

from tests.ecosystem.test_awx import (endpoints, job_events, job_status, private_data_dir, quarantine_vars,
                                      stock_azure_credential, assert_quarantined_once_each)
from tests.ecosystem.tools import REPO, environment, run, tool
from tests.support.quarantine import seed, writes
from tests.simulator.config import CLIENT_ID

BASE_IMAGE = os.environ.get("MDE_EE_BASE_IMAGE")
pytestmark = pytest.mark.skipif(not BASE_IMAGE, reason="make ee builds the base image and runs these tests")

EXAMPLE = os.path.join(REPO, "docs", "execution-environment")
IMAGE = "localhost/mde-response-ee"
# podman's default OCI runtime (crun) cannot start containers in some sandboxes and CI runners; runc can, with
# explicit limits. The simulator listens on the host's loopback, which only the host's network reaches.
PODMAN = ["podman", "--runtime", "runc"]
CONTAINER_OPTIONS = ["--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
CA_IN_CONTAINER = "/etc/mde-simulator/ca.pem"


def example():
    with open(os.path.join(EXAMPLE, "execution-environment.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def base_python():
    """The base image's python3 (a virtualenv, see tests/ecosystem/ee/base.Containerfile)."""
    return run(podman_run(BASE_IMAGE) + ["python3", "-c", "import sys; print(sys.executable)"]).strip()


def local_definition(artifact, directory):
    """The example (which installs the collection from the built file, as docs/awx.md says), on the local Debian base
    instead of the public one."""
    definition = example()
    definition["images"]["base_image"]["name"] = BASE_IMAGE
    definition["dependencies"]["python_interpreter"]["python_path"] = base_python()
    definition["options"]["package_manager_path"] = "/usr/bin/apt-get"
    # Next to the definition, so that the definition names it the same way in every build.
    shutil.copy(artifact, str(directory))
    shutil.copy(os.path.join(EXAMPLE, definition["dependencies"]["galaxy"]), str(directory))
    path = directory / "execution-environment.yml"
    path.write_text(yaml.safe_dump(definition), encoding="utf-8")
    return path


def image_tag(artifact, definition):
    """A tag that names what goes into the image: the base (its tag is a digest), the definition and the collection's
    files (not the artifact's bytes, which change with every build). An image with it needs no second build."""
    digest = hashlib.sha256(definition.read_bytes())
    with tarfile.open(artifact) as archive:
        for member in sorted(archive.getmembers(), key=lambda member: member.name):
            digest.update(member.name.encode())
            if member.isfile():
                digest.update(archive.extractfile(member).read())
    return "%s:%s" % (IMAGE, digest.hexdigest()[:12])


@pytest.fixture(scope="module")
def image(artifact, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ee")
    definition = local_definition(artifact, directory)
    tag = image_tag(artifact, definition)
    if subprocess.run(PODMAN + ["image", "exists", tag], check=False).returncode != 0:
        run([tool("ansible-builder"), "build", "--file", str(definition), "--context", str(directory / "context"),
             "--tag", tag, "--container-runtime", "podman",
             "--extra-build-cli-args", " ".join(CONTAINER_OPTIONS + ["--runtime", "runc"])], env=environment(), timeout=1800)
        remove_older_images(tag)
    return tag


def remove_older_images(kept):
    """Each build would otherwise leave its image behind. The builder's untagged stage images stay: they are the
    layer cache that makes the next build take minutes less."""
    listed = subprocess.run(PODMAN + ["images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE],
                            capture_output=True, text=True, check=False).stdout.split()
    older = [name for name in listed if name != kept]
    if older:
        subprocess.run(PODMAN + ["rmi", "--force"] + older, capture_output=True, check=False)


def podman_run(image, *arguments):
    return PODMAN + ["run", "--rm"] + CONTAINER_OPTIONS + list(arguments) + [image]


def run_job_in_container(image, directory, credential_env, extra_vars, ca_path):
    """The job as AWX runs it in an execution environment: the private data directory mounted at /runner, and
    ansible-runner inside the container, as the user the image names."""
    private_data_dir(directory, credential_env, extra_vars, "{{ ansible_playbook_python }}")
    user = run(PODMAN + ["image", "inspect", "--format", "{{.Config.User}}", image]).strip()
    for root, folders, files in os.walk(directory):
        for name in [root] + [os.path.join(root, entry) for entry in folders + files]:
            shutil.chown(name, user=int(user))
    completed = subprocess.run(
        podman_run(image, "--volume", "%s:/runner" % directory, "--volume", "%s:%s:ro" % (ca_path, CA_IN_CONTAINER))
        + ["ansible-runner", "run", "/runner", "--playbook", "quarantine.yml", "--ident", "job"],
        capture_output=True, text=True, timeout=600, check=False)
    output = completed.stdout + completed.stderr
    return job_status(directory), output


def test_image_runs_as_a_user_that_is_not_root(image):
    assert run(podman_run(image) + ["id", "-u"]).strip() != "0"


def test_stock_azure_credential_quarantines_inside_the_container_and_a_relaunch_changes_nothing(image, simulator, tmp_path):
    machines = seed(simulator, 3)
    connection = simulator.connection
    credential_env = dict(stock_azure_credential(connection), **dict(endpoints(simulator), MDE_CA_PATH=CA_IN_CONTAINER))

    status, output = run_job_in_container(image, tmp_path / "launch", credential_env, quarantine_vars(machines),
                                          simulator.ca_path)

    assert status == "successful", output
    assert_quarantined_once_each(simulator, machines, CLIENT_ID)
    assert connection["client_secret"] not in job_events(tmp_path / "launch")

    simulator.reset()
    status, output = run_job_in_container(image, tmp_path / "relaunch", credential_env, quarantine_vars(machines),
                                          simulator.ca_path)

    assert status == "successful", output
    assert writes(simulator) == []
