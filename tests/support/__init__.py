"""Library code the test suites, the benchmark and the tools share: no tests and no fixtures live here.

Fixtures are in the ``conftest.py`` files next to the tests that use them (``tests/conftest.py`` for those of
every suite); they build on what these modules offer.
"""
