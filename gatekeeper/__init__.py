"""gatekeeper: one quality gate over a CI job's test, coverage and security reports."""

__version__ = "0.1.0"
