"""The pipeline engine: compile a graph once, run it per turn against an explicit ``RunContext`` (ADR 0030)."""
