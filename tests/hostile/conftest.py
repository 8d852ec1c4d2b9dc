"""The finance tests' people and clock, for the bad-input tests' decision and objection forms."""

from tests.finance.conftest import clock, people  # noqa: F401 (fixtures)
