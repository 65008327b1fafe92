"""pytest plugin of the leadforge conformance kit (work in progress)."""
