"""What the ecosystem tests share: where things are, running a tool, building and copying the collection."""

import os
import shutil
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The tools of the virtualenv these tests run in: ansible-galaxy of the same ansible-core, for instance.
BIN = os.path.dirname(sys.executable)
NEWEST_BIN = os.path.join(REPO, ".venv-newest", "bin")


def galaxy():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def run(command, cwd=REPO, env=None, timeout=300):
    """Run a command; fail the test with its output when it fails. Returns the combined output."""
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, "%s exited with %d:\n%s" % (" ".join(command), completed.returncode, output)
    return output


def tool(name, bin_dir=BIN):
    return os.path.join(bin_dir, name)


def environment(bin_dir=BIN, **overrides):
    """This process's environment with bin_dir first on PATH; a value of None removes the variable."""
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def build_collection(output_dir):
    """ansible-galaxy collection build of the working tree; returns the artifact's path."""
    run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(output_dir), REPO])
    meta = galaxy()
    path = os.path.join(str(output_dir), "%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"]))
    assert os.path.isfile(path), "ansible-galaxy built no %s" % path
    return path


def source_files():
    """The files git would commit (tracked, or untracked and not ignored), relative to the repository."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode()
    return sorted(path for path in listed.split("\0") if path and os.path.isfile(os.path.join(REPO, path)))


def copy_sources(destination):
    """A copy of the sources (what git would commit) for tools that write into the collection."""
    for path in source_files():
        target = os.path.join(str(destination), path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(REPO, path), target)
    return str(destination)
