"""Tests of the store server against a real `gatekeeper serve` process."""
