"""``leadforge report``: one self-contained HTML page of figures about a bundle, and the same
figures as JSON. Core draws what every bundle has; schemes add their own sections through the
``report_sections`` hook. Figures are drawn with matplotlib (``leadforge-core[report]``)."""

from leadforge.report.model import Figure, Report, Section, missing

__all__ = ["Figure", "Report", "Section", "missing"]
