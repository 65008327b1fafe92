"""The leadforge conformance kit (work in progress)."""
