# mde.response developer commands. `make help` lists them. Everything runs from the project's own .venv,
# which the first command creates (python3 >= 3.11 and PyPI are all that a fresh machine needs).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TREE := .collection-tree
# The collection must be found as ansible_collections/mde/response; a symlink tree points there.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(TREE)
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_NOCOLOR := 1
PYTEST_ARGS ?= -n 2

.PHONY: help venv tree test sanity units integration lint docs-lint demo clean

help:
	@echo "make demo         quarantine a sample hash on simulated machines, then rerun it (nothing changes)"
	@echo "make test         sanity, unit, simulator and integration tests, ansible-lint, docs lint"
	@echo "make sanity       ansible-test sanity only"
	@echo "make units        unit and simulator tests only"
	@echo "make integration  integration tests (ansible-playbook against the simulator) only"
	@echo "make lint         ansible-lint, production profile"
	@echo "make clean        remove the virtualenv and build output"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("python >= 3.11 is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(STAMP)

tree:
	@mkdir -p $(TREE)/ansible_collections/mde
	@ln -sfn $(CURDIR) $(TREE)/ansible_collections/mde/response

test: venv tree
	@mkdir -p build/junit
	$(BIN)/python tests/tools/run_all.py \
		"sanity=$(MAKE) --no-print-directory sanity" \
		"pytest-units=$(BIN)/python -m pytest $(PYTEST_ARGS) tests/unit tests/simulator/tests --junitxml=build/junit/pytest-units.xml" \
		"pytest-integration=$(BIN)/python -m pytest $(PYTEST_ARGS) tests/integration --junitxml=build/junit/pytest-integration.xml" \
		"ansible-lint=$(MAKE) --no-print-directory lint" \
		"docs-lint=$(MAKE) --no-print-directory docs-lint"

sanity: venv tree
	tests/tools/ansible-test.sh sanity --venv --python 3.11 --color no

units: venv tree
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/unit tests/simulator/tests

integration: venv tree
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/integration

lint: venv tree
	$(BIN)/ansible-lint --offline

docs-lint: venv tree
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

demo: venv tree
	$(BIN)/python tests/tools/demo.py

clean:
	rm -rf $(VENV) $(TREE) build tests/output .pytest_cache
