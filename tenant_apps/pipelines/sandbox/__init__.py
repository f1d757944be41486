"""The code node's sandbox: RestrictedPython in a forked, resource-limited process (ADR 0031)."""
