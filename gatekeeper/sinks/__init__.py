"""Delivery of a verdict beyond the run: upload to the store server, the local spool, the Pushgateway."""
