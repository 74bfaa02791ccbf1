#!/usr/bin/env bash
# Runs ansible-test on this repository, whose root is the collection itself.
#
# ansible-test insists on running inside .../ansible_collections/<namespace>/<name>, and it resolves symlinks,
# so the sources are copied into such a tree outside the repository (inside it, ansible-test would find the
# repository's .git and skip every ignored path, the copy included). tests/output is kept between runs because
# it holds ansible-test's delegation virtualenv. Usage: tests/tools/ansible-test.sh sanity --venv --python 3.11
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tree="${TMPDIR:-/tmp}/mde-response-ansible-test-$(printf '%s' "$repo" | sha256sum | cut -c1-12)"
dest="$tree/ansible_collections/mde/response"
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
if [ -d "$dest/tests" ]; then
    find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
fi
# Only what git would commit: untracked-but-ignored files (venvs, caches, build output) stay behind.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r ls -d 2>/dev/null | tr '\n' '\0' \
    | tar --null -T - -cf -) | (cd "$dest" && tar -xf -)

# ansible-test bootstraps pip in its virtualenvs with a script it downloads from a host this machine cannot
# reach, unless the script is already in its cache; the stand-in below installs pip from PyPI instead.
pip_version=$(python - <<'PY'
import pathlib, re, ansible_test
source = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip=.([0-9.]+).", source).group(1))
PY
)
bootstrap="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$bootstrap" ]; then
    mkdir -p "$(dirname "$bootstrap")"
    cat > "$bootstrap" <<'PY'
import subprocess
import sys

requested = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade", "--disable-pip-version-check"] + requested)
PY
fi

cd "$dest"
status=0
ansible-test "$@" || status=$?
if [ -d tests/output ]; then
    mkdir -p "$repo/tests/output"
    cp -r tests/output/junit tests/output/bot "$repo/tests/output/" 2>/dev/null || true
fi
exit $status
