"""The support scheme honours the leadforge plugin contract: one test per conformance check."""

from __future__ import annotations

from leadforge.testing import SchemeConformance


class TestHelpdeskConformance(SchemeConformance):
    recipe_id = "helpdesk_sla_v1"
