"""Example third-party leadforge scheme: support tickets and SLA breaches."""
