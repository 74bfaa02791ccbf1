"""pytest set-up shared by every test: make the collection importable as ansible_collections.mde.response.

The repository root is the collection, but Python (and Ansible) find collections only below an
``ansible_collections/<namespace>/<name>`` folder, so a symlink tree is kept in ``.collection-tree/``.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.join(ROOT, ".collection-tree")


def ensure_collection_tree():
    link = os.path.join(TREE, "ansible_collections", "mde", "response")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return TREE


sys.path.insert(0, ensure_collection_tree())

# Markers are registered here rather than in pytest.ini: `ansible-test units` runs pytest with a configuration of its
# own (and --strict-markers), but it loads this file too.
MARKERS = (
    "slow: takes more than a few seconds",
    "smoke: also runs on the other ansible-core lines (make test, make test-matrix); keep these few and fast",
)


def pytest_configure(config):
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
