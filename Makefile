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

.PHONY: help venv tree test sanity units integration lint docs-lint typecheck demo bench clean
.PHONY: sync sync-check docs docs-check changelog ecosystem venv-newest sanity-newest test-newest test-matrix test-eda ee

help:
	@echo "make demo         quarantine a sample hash on simulated machines, then rerun it (nothing changes)"
	@echo "make test         sanity, unit, simulator and integration tests, ansible-lint, docs lint"
	@echo "make sanity       ansible-test sanity only"
	@echo "make units        unit and simulator tests only"
	@echo "make integration  integration tests (ansible-playbook against the simulator) only"
	@echo "make lint         ansible-lint, production profile"
	@echo "make typecheck    mypy on plugins/ (mypy.ini)"
	@echo "make bench        fleet-scale benchmark against the simulator (minutes); rewrites docs/performance.md and .json"
	@echo "make sync         regenerate the copies of the connection options (doc fragment, roles' argument specs)"
	@echo "make docs         render the plugin documentation into docs/plugins (commit the result)"
	@echo "make changelog    fold changelogs/fragments into CHANGELOG.rst for the version in galaxy.yml"
	@echo "make ecosystem    galaxy build and import, changelog, execution environment and AWX tests"
	@echo "make test-matrix  sanity and smoke tests on the ansible-core lines that make test does not cover (MATRIX_CORES)"
	@echo "make test-eda     ansible-rulebook runs the alert-to-quarantine rulebook against the simulator (.venv-eda, Java 17)"
	@echo "make ee           build the example execution environment (podman) and run a quarantine job inside it"
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

# Two lanes side by side (tests/tools/run_all.py): the integration tests, which mostly wait for ansible-playbook
# processes and simulated time, and every other stage in turn (the newest core's stages after the one that builds
# its virtualenv).
test: venv tree
	@mkdir -p build/junit
	$(BIN)/python tests/tools/run_all.py \
		--lane "pytest-integration=$(BIN)/python -m pytest $(PYTEST_ARGS) tests/integration --junitxml=build/junit/pytest-integration.xml" \
		--lane "sanity=$(MAKE) --no-print-directory sanity" \
		"pytest-units=$(BIN)/python -m pytest $(PYTEST_ARGS) tests/unit tests/simulator/tests --junitxml=build/junit/pytest-units.xml" \
		"ansible-lint=$(MAKE) --no-print-directory lint" \
		"typecheck=$(MAKE) --no-print-directory typecheck" \
		"docs-lint=$(MAKE) --no-print-directory docs-lint" \
		"docs-check=$(MAKE) --no-print-directory docs-check" \
		"sync-check=$(MAKE) --no-print-directory sync-check" \
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

typecheck: venv tree
	$(BIN)/python -m mypy -p ansible_collections.mde.response.plugins

docs-lint: venv tree
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# The connection options are written once, in plugins/module_utils/connection_options.py; the doc fragment and the
# roles' argument specs, which cannot import it, get their copies from it.
sync: venv tree
	$(BIN)/python tests/tools/sync.py

sync-check: venv tree
	$(BIN)/python tests/tools/sync.py --check

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

# The ansible-core release lines the collection claims (meta/runtime.yml requires_ansible), each as <line>:<Python>
# with the Python its tests run on. README's Requirements table lists the same (tests/ecosystem/test_compatibility.py).
# `make test` runs every test on MAIN_CORE (.venv) and the shipped content's sanity and the smoke tests on
# NEWEST_CORE (.venv-newest); `make test-matrix` runs the same two on each of MATRIX_CORES, in a .venv-core-<line>.
MAIN_CORE := 2.19:3.11
MATRIX_CORES := 2.20:3.12
NEWEST_CORE := 2.21:3.13
core_python = $(word 2,$(subst :, ,$(1)))
# pyenv's shims run only the versions it has selected, so its installed versions are tried by their own path.
PYENV_VERSIONS = $(shell pyenv root 2>/dev/null)/versions
python_of = $(firstword $(foreach candidate,python$(1) $(wildcard $(PYENV_VERSIONS)/$(1).*/bin/python$(1)),\
	$(shell $(candidate) -c 'import sys; print(sys.executable)' 2>/dev/null)))

# .venv-newest also holds galaxy-importer (its pins would clash with the main .venv's tools).
NEWEST_VENV := .venv-newest
NEWEST_STAMP := $(NEWEST_VENV)/.installed
NEWEST_REQUIREMENTS := tests/ecosystem/requirements-newest.txt
SMOKE_REQUIREMENTS := tests/ecosystem/requirements-smoke.txt
NEWEST_PYTHON ?= $(call python_of,$(call core_python,$(NEWEST_CORE)))

# $(1): the interpreter, $(2): its Python version, $(3): the virtualenv, then what pip installs into it.
define make_venv
	@test -n "$(1)" || { echo "$(3) needs python $(2): install it (python$(2) on PATH, or a pyenv version $(2).x)"; exit 1; }
	$(1) -m venv $(3)
	$(3)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(3)/bin/pip install --quiet --disable-pip-version-check $(4)
	touch $(3)/.installed
endef

$(NEWEST_STAMP): requirements.txt $(NEWEST_REQUIREMENTS) $(SMOKE_REQUIREMENTS)
	$(call make_venv,$(NEWEST_PYTHON),$(call core_python,$(NEWEST_CORE)),$(NEWEST_VENV),-r $(NEWEST_REQUIREMENTS))

venv-newest: $(NEWEST_STAMP)

# A line of MATRIX_CORES gets its newest patch release, the one its users are told to install.
matrix_python = $(call core_python,$(filter $(1):%,$(MATRIX_CORES)))
.PRECIOUS: .venv-core-%/.installed
.venv-core-%/.installed: requirements.txt $(SMOKE_REQUIREMENTS)
	$(call make_venv,$(call python_of,$(call matrix_python,$*)),$(call matrix_python,$*),.venv-core-$*,-r $(SMOKE_REQUIREMENTS) 'ansible-core==$*.*')

# Only what users run is checked again on the other cores (the test code is checked once, on the main leg), which
# keeps these legs' pylint short. Each leg has its own copy of the tree, so it can run while `make sanity` does.
SHIPPED_SANITY_TARGETS = $(wildcard plugins/ meta/ changelogs/ roles/*/ playbooks/*.yml)
# $(1): the leg's virtualenv.
define sanity_leg
	@mkdir -p $${TMPDIR:-/tmp}/mde-response-$(1:.venv-%=%)
	TMPDIR=$${TMPDIR:-/tmp}/mde-response-$(1:.venv-%=%) PATH=$(CURDIR)/$(1)/bin:$$PATH \
		tests/tools/ansible-test.sh sanity --venv --color no \
		--python $$($(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		$(SHIPPED_SANITY_TARGETS)
endef
define smoke_leg
	@mkdir -p build/junit
	$(1)/bin/python -m pytest $(PYTEST_ARGS) -m smoke tests/integration tests/ecosystem --junitxml=build/junit/pytest-$(1:.venv-%=%).xml
endef

sanity-newest: venv-newest tree
	$(call sanity_leg,$(NEWEST_VENV))

test-newest: venv-newest tree
	$(call smoke_leg,$(NEWEST_VENV))

sanity-core-%: .venv-core-%/.installed tree
	$(call sanity_leg,.venv-core-$*)

smoke-core-%: .venv-core-%/.installed tree
	$(call smoke_leg,.venv-core-$*)

MATRIX_LINES = $(foreach core,$(MATRIX_CORES),$(firstword $(subst :, ,$(core))))
test-matrix: $(foreach line,$(MATRIX_LINES),sanity-core-$(line) smoke-core-$(line))

# Builds docs/execution-environment with ansible-builder and podman from a local Debian base image (made once, then
# found by its tag), and runs a job of mde.response.quarantine inside the container against the simulator.
ee: venv tree
	@mkdir -p build/junit build/ee
	base_image=$$(tests/ecosystem/ee/base.sh build/ee) && MDE_EE_BASE_IMAGE=$$base_image \
		$(BIN)/python -m pytest -p no:xdist tests/ecosystem/test_ee_image.py --junitxml=build/junit/pytest-ee.xml

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
	rm -rf $(VENV) $(NEWEST_VENV) .venv-core-* $(EDA_VENV) $(TREE) build tests/output .pytest_cache
