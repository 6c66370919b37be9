"""What the tests and the benchmarks share: apps and servers, test data,
printing, the link between hub and station, and the kiosk screen's touch
actions. Support modules, not test modules: fixtures live in the
``conftest.py`` files, and no test module imports another."""
