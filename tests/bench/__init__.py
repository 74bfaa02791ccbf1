"""The fleet-scale benchmark (`make bench`): the module against the simulator's rate limits and a uri baseline.

harness.py measures one playbook run, scenarios.py holds the scenarios, report.py turns the measurements into
docs/performance.md and docs/performance.json; ``python -m tests.bench --help`` runs them.
"""
