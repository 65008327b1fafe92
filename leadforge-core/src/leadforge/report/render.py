"""The report as one self-contained HTML page (and as JSON).

The page holds no script and loads nothing: styles are inline, every plot is inline SVG, and a
Content-Security-Policy forbids any fetch, so it opens offline and shows the same thing in any
browser. Text from the bundle is escaped everywhere.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from leadforge.report import plots
from leadforge.report.model import Figure, Report, Section

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
:root { color-scheme: light; }
body {
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0;
  color: #1d232b;
  background: #f7f8fa;
}
header { background: #23364f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; opacity: .85; }
nav {
  padding: 10px 32px;
  background: #fff;
  border-bottom: 1px solid #dde2e8;
  position: sticky;
  top: 0;
  z-index: 1;
}
nav a { margin-right: 14px; color: #2c5d95; text-decoration: none; white-space: nowrap; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 24px 48px; }
section { margin-top: 28px; }
section > h2 { font-size: 19px; border-bottom: 2px solid #3b6ea8; padding-bottom: 4px; }
section > p.intro { color: #4a5563; margin-top: -4px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure.figure {
  background: #fff;
  border: 1px solid #dde2e8;
  border-radius: 6px;
  margin: 0;
  padding: 12px 14px;
  flex: 1 1 520px;
  min-width: 0;
  overflow-x: auto;
}
figure.figure h3 { margin: 0 0 8px; font-size: 15px; }
figure.figure svg { max-width: 100%; height: auto; display: block; }
figure.wide { flex-basis: 100%; }
figcaption { color: #4a5563; font-size: 13px; margin-top: 6px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td {
  text-align: left;
  padding: 3px 8px;
  border-bottom: 1px solid #eceff3;
  vertical-align: top;
  overflow-wrap: anywhere;
}
th { background: #f1f4f8; }
p.na {
  color: #8a5a00;
  background: #fff7e6;
  border: 1px dashed #e0b050;
  padding: 8px 10px;
  border-radius: 4px;
  margin: 0;
}
td.bad { color: #a02020; font-weight: 600; }
footer { color: #6b7480; font-size: 12px; text-align: center; padding: 20px; }
"""


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=True) + "\n"


def to_html(report: Report) -> str:
    nav = " ".join(f'<a href="#{escape(s.id)}">{escape(s.title)}</a>' for s in report.sections)
    body = "\n".join(_section(s) for s in report.sections)
    b = report.bundle
    sub = " · ".join(
        escape(str(x))
        for x in (
            b.get("scheme"),
            f"schema {b.get('bundle_schema_version')}",
            f"leadforge-core {b.get('package_version')}",
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>\n"
        f"<header><h1>{escape(report.title)}</h1><p>{sub}</p></header>\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        "<footer>Made by <code>leadforge report</code>. Every figure's data is in the JSON output "
        "(<code>--json</code>).</footer>\n</body></html>\n"
    )


def _section(s: Section) -> str:
    intro = f'<p class="intro">{escape(s.intro)}</p>' if s.intro else ""
    figures = "\n".join(_figure(s, f) for f in s.figures)
    head = f'<section id="{escape(s.id)}"><h2>{escape(s.title)}</h2>{intro}'
    return f'{head}<div class="grid">\n{figures}\n</div></section>'


def _figure(s: Section, f: Figure) -> str:
    wide = f.kind in ("er", "graph") or (f.kind == "table" and len(f.data.get("columns", ())) > 3)
    attrs = (
        f'class="figure{" wide" if wide else ""}" id="{escape(s.id)}--{escape(f.id)}" '
        f'data-kind="{f.kind}" data-available="{str(f.available).lower()}"'
    )
    if not f.available:
        inner = f'<p class="na">Not available: {escape(f.unavailable)}</p>'
    elif f.kind == "table":
        inner = _table(f.data)
    elif f.kind == "text":
        inner = f"<p>{escape(str(f.data.get('text', '')))}</p>"
    else:
        inner = plots.svg(f)
    caption = f"<figcaption>{escape(f.caption)}</figcaption>" if f.caption and f.available else ""
    return f"<figure {attrs}><h3>{escape(f.title)}</h3>{inner}{caption}</figure>"


def _table(d: Any) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in d.get("columns", ()))
    rows = []
    for row in d.get("rows", ()):
        cells = []
        for cell in row:
            text = str(cell)
            bad = text in ("FLAGGED", "OUT OF BAND", "error", "could not run")
            cells.append(f'<td class="bad">{escape(text)}</td>' if bad else f"<td>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
