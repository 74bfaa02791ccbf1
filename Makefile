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

.PHONY: help venv tree test sanity units integration lint docs-lint demo bench clean
.PHONY: docs docs-check changelog ecosystem venv-newest sanity-newest test-newest test-matrix test-eda

help:
	@echo "make demo         quarantine a sample hash on simulated machines, then rerun it (nothing changes)"
	@echo "make test         sanity, unit, simulator and integration tests, ansible-lint, docs lint"
	@echo "make sanity       ansible-test sanity only"
	@echo "make units        unit and simulator tests only"
	@echo "make integration  integration tests (ansible-playbook against the simulator) only"
	@echo "make lint         ansible-lint, production profile"
	@echo "make bench        fleet-scale benchmark against the simulator (minutes); rewrites docs/performance.md and .json"
	@echo "make docs         render the plugin documentation into docs/plugins (commit the result)"
	@echo "make changelog    fold changelogs/fragments into CHANGELOG.rst for the version in galaxy.yml"
	@echo "make ecosystem    galaxy build and import, changelog, execution environment and AWX tests"
	@echo "make test-matrix  sanity and smoke tests on the newest ansible-core (.venv-newest, Python >= 3.12)"
	@echo "make test-eda     ansible-rulebook runs the alert-to-quarantine rulebook against the simulator (.venv-eda, Java 17)"
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
		"docs-lint=$(MAKE) --no-print-directory docs-lint" \
		"docs-check=$(MAKE) --no-print-directory docs-check" \
		"pytest-ecosystem=$(MAKE) --no-print-directory ecosystem" \
		"sanity-newest=$(MAKE) --no-print-directory sanity-newest" \
		"pytest-newest=$(MAKE) --no-print-directory test-newest"

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

# antsibull-docs writes only into a folder that is the user's own and not writable by anyone else.
DOCS_DIR ?= docs/plugins
docs: venv tree
	@mkdir -p $(DOCS_DIR) && chmod 755 $(DOCS_DIR)
	$(BIN)/antsibull-docs collection --use-current --squash-hierarchy --fail-on-error --no-add-antsibull-docs-version \
		--output-format simplified-rst --cleanup everything --dest-dir $(DOCS_DIR) mde.response

docs-check: venv tree
	@rm -rf build/docs-check
	@$(MAKE) --no-print-directory docs DOCS_DIR=build/docs-check >/dev/null
	@diff -r docs/plugins build/docs-check || { echo "docs/plugins is stale: run 'make docs' and commit it"; exit 1; }
	@echo "docs/plugins is up to date"

# Until the version in galaxy.yml is tagged, this updates its release entry; after a version bump it starts a new one.
changelog: venv tree
	$(BIN)/antsibull-changelog release --reload-plugins

ecosystem: venv venv-newest tree
	@mkdir -p build/junit
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/ecosystem --junitxml=build/junit/pytest-ecosystem.xml

# The newest ansible-core needs Python >= 3.12: the first interpreter here that runs builds .venv-newest, which
# also holds galaxy-importer (its pins would clash with the main .venv's tools).
NEWEST_VENV := .venv-newest
NEWEST_STAMP := $(NEWEST_VENV)/.installed
NEWEST_REQUIREMENTS := tests/ecosystem/requirements-newest.txt
# pyenv's shims run only the versions it has selected, so its installed versions are tried by their own path.
PYENV_VERSIONS = $(shell pyenv root 2>/dev/null)/versions
NEWEST_PYTHON ?= $(firstword $(foreach candidate,python3.13 python3.12 \
	$(wildcard $(PYENV_VERSIONS)/3.13*/bin/python3.13 $(PYENV_VERSIONS)/3.12*/bin/python3.12),\
	$(shell $(candidate) -c 'import sys; print(sys.executable)' 2>/dev/null)))

$(NEWEST_STAMP): requirements.txt $(NEWEST_REQUIREMENTS)
	@test -n "$(NEWEST_PYTHON)" || { echo "the newest ansible-core needs python 3.12 or 3.13: install one, or set NEWEST_PYTHON"; exit 1; }
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(NEWEST_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(NEWEST_REQUIREMENTS)
	touch $@

venv-newest: $(NEWEST_STAMP)

# Only what users run is checked again on the newest core (the test code is checked once, on the main leg), which
# keeps this leg's pylint short. Its own copy of the tree lets it run while someone else runs `make sanity`.
NEWEST_SANITY_TARGETS = $(wildcard plugins/ meta/ changelogs/ roles/*/ playbooks/*.yml)
sanity-newest: venv-newest tree
	@mkdir -p $${TMPDIR:-/tmp}/mde-response-newest
	TMPDIR=$${TMPDIR:-/tmp}/mde-response-newest PATH=$(CURDIR)/$(NEWEST_VENV)/bin:$$PATH \
		tests/tools/ansible-test.sh sanity --venv --color no \
		--python $$($(NEWEST_VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		$(NEWEST_SANITY_TARGETS)

test-newest: venv-newest tree
	@mkdir -p build/junit
	$(NEWEST_VENV)/bin/python -m pytest $(PYTEST_ARGS) -m smoke tests/integration tests/ecosystem \
		--junitxml=build/junit/pytest-newest.xml

test-matrix: sanity-newest test-newest

# ansible-rulebook gets its own venv (its pins are not the tools'), and a Java 17 runtime for its rule engine from
# the Debian packages when there is no java yet (apt-get needs root, as on CI).
EDA_VENV := .venv-eda
EDA_STAMP := $(EDA_VENV)/.installed
EDA_REQUIREMENTS := tests/eda/requirements.txt

$(EDA_STAMP): $(EDA_REQUIREMENTS)
	$(PYTHON) -m venv $(EDA_VENV)
	$(EDA_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(EDA_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(EDA_REQUIREMENTS)
	touch $@

test-eda: venv tree $(EDA_STAMP)
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }
	@mkdir -p build/junit
	MDE_EDA_VENV=$(CURDIR)/$(EDA_VENV) $(BIN)/python -m pytest -p no:xdist tests/eda --junitxml=build/junit/pytest-eda.xml

demo: venv tree
	$(BIN)/python tests/tools/demo.py

# Not part of `make test`: it takes minutes, and its targets are numbers to read in docs/performance.md rather
# than assertions that a busy machine would make flaky. BENCH_ARGS passes options, e.g. --scenario first-run.
bench: venv tree
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(NEWEST_VENV) $(EDA_VENV) $(TREE) build tests/output .pytest_cache
