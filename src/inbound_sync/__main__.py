"""`python -m inbound_sync`."""

from inbound_sync.cli import entrypoint

entrypoint()
