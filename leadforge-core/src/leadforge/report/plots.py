"""Drawing figures as inline SVG with matplotlib (the optional ``leadforge-core[report]`` extra).

Every plot is SVG text placed in the page, so the report needs no script, no font or image
file and no network. The SVG is byte-stable for the same figure data: a fixed hash salt names
the clip paths and no date is written.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leadforge.errors import UsageError
from leadforge.report.model import Figure

HINT = "pip install 'leadforge-core[report]'"
PALETTE = ("#3b6ea8", "#e0883e", "#5a9e5a", "#c0504d", "#8064a2", "#4bacc6", "#9c9c3a", "#7f7f7f")
WIDTH, HEIGHT = 7.2, 3.4


@functools.cache
def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise UsageError(f"the report's figures need matplotlib: {HINT}") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "leadforge-report",
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "figure.dpi": 100,
            "text.parse_math": False,
        }
    )
    return plt


def available() -> bool:
    """Whether figures can be drawn here (matplotlib installed)."""
    try:
        _pyplot()
    except UsageError:
        return False
    return True


def svg(figure: Figure) -> str:
    """The figure drawn as an ``<svg>`` element ("" for tables, text and unavailable figures)."""
    draw = _DRAW.get(figure.kind)
    if draw is None or not figure.available:
        return ""
    plt = _pyplot()
    fig = draw(plt, figure.data)
    try:
        out = io.StringIO()
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    text = out.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)


def _axes(plt: Any, height: float = HEIGHT) -> tuple[Any, Any]:
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    ax.grid(axis="both", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _percent(ax: Any, axis: str) -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _short(label: Any, limit: int = 28) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bars(plt: Any, d: Mapping[str, Any]) -> Any:
    labels = [_short(x) for x in d["labels"]]
    series: Mapping[str, Sequence[float]] = d["series"]
    horizontal = bool(d.get("horizontal")) or len(labels) > 5 or max((len(x) for x in labels), default=0) > 14
    stacked = bool(d.get("stacked"))
    height = (
        max(HEIGHT, 0.28 * len(labels) * (1 if stacked else max(1, len(series) * 0.6)) + 1)
        if horizontal
        else HEIGHT
    )
    fig, ax = _axes(plt, min(height, 12.0))
    n = max(1, len(series))
    width = 0.8 if stacked else 0.8 / n
    base = [0.0] * len(labels)
    positions = list(range(len(labels)))
    for i, (name, values) in enumerate(series.items()):
        vals = [0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
        offs = [p + (0 if stacked else (i - (n - 1) / 2) * width) for p in positions]
        color = PALETTE[i % len(PALETTE)]
        if horizontal:
            ax.barh(offs, vals, height=width, left=base if stacked else None, color=color, label=str(name))
        else:
            ax.bar(offs, vals, width=width, bottom=base if stacked else None, color=color, label=str(name))
        if stacked:
            base = [b + v for b, v in zip(base, vals, strict=True)]
    if horizontal:
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
    else:
        ax.set_xticks(
            positions,
            labels,
            rotation=30 if len(labels) > 4 else 0,
            ha="right" if len(labels) > 4 else "center",
        )
        ax.grid(axis="x", visible=False)
    if d.get("percent"):
        _percent(ax, "x" if horizontal else "y")
    _labels(ax, d, swap=horizontal)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _labels(ax: Any, d: Mapping[str, Any], *, swap: bool = False) -> None:
    x, y = d.get("xlabel", ""), d.get("ylabel", "")
    if swap:
        x, y = y, x
    if x:
        ax.set_xlabel(x)
    if y:
        ax.set_ylabel(y)


def _lines(plt: Any, d: Mapping[str, Any]) -> Any:
    fig, ax = _axes(plt)
    xs = list(d["x"])
    dates = bool(d.get("dates"))
    if dates:
        import datetime as dt

        xs = [dt.date.fromisoformat(str(x)) for x in xs]
    for i, (name, values) in enumerate(d["series"].items()):
        ys = [math.nan if v is None else float(v) for v in values]
        ax.plot(
            xs,
            ys,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.6,
            label=str(name),
            marker="" if len(xs) > 30 else ".",
        )
    if dates:
        fig.autofmt_xdate()
    if d.get("percent"):
        _percent(ax, "y")
    if d.get("ymin") is not None:
        ax.set_ylim(bottom=float(d["ymin"]))
    _labels(ax, d)
    if len(d["series"]) > 1:
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _histogram(plt: Any, d: Mapping[str, Any]) -> Any:
    fig, ax = _axes(plt)
    edges = [float(e) for e in d["edges"]]
    counts = [float(c) for c in d["counts"]]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=PALETTE[0], edgecolor="white", linewidth=0.5)
    if d.get("log_x"):
        from matplotlib.ticker import FuncFormatter, NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _amount(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", visible=False)
    _labels(ax, {"xlabel": d.get("xlabel", ""), "ylabel": d.get("ylabel", "count")})
    return fig


def _waterfall(plt: Any, d: Mapping[str, Any]) -> Any:
    fig, ax = _axes(plt)
    labels = [str(x) for x in d["labels"]]
    deltas = [float(v) for v in d["deltas"]]
    running = 0.0
    for i, delta in enumerate(deltas):
        color = PALETTE[2] if delta >= 0 else PALETTE[3]
        ax.bar(i, delta, bottom=running, color=color, width=0.6)
        ax.annotate(
            _amount(delta),
            (i, running + max(delta, 0)),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
        running += delta
    ax.bar(len(labels), running, color=PALETTE[0], width=0.6)
    ax.annotate(
        _amount(running),
        (len(labels), max(running, 0)),
        ha="center",
        va="bottom",
        fontsize=8,
        xytext=(0, 2),
        textcoords="offset points",
    )
    ticks = [*labels, str(d.get("total_label", "total"))]
    long = max(len(t) for t in ticks) > 12
    ax.set_xticks(range(len(ticks)), ticks, rotation=20 if long else 0, ha="right" if long else "center")
    ax.axhline(0, color="#888", linewidth=0.8)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _amount(v)))
    ax.grid(axis="x", visible=False)
    _labels(ax, d)
    return fig


def _amount(v: float) -> str:
    a = abs(v)
    text = f"{a / 1e6:.1f}M" if a >= 1e6 else f"{a / 1e3:.0f}k" if a >= 1e4 else f"{a:,.0f}"
    return ("−" if v < 0 else "") + text


def _layers(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's depth: 0 for a node no edge points into, else one more than its deepest source."""
    depth = dict.fromkeys(names, 0)
    for _ in range(len(names)):
        changed = False
        for src, dst in edges:
            if src in depth and dst in depth and src != dst and depth[dst] < depth[src] + 1 <= len(names):
                depth[dst] = depth[src] + 1
                changed = True
        if not changed:
            break
    return depth


def _er(plt: Any, d: Mapping[str, Any]) -> Any:
    from matplotlib.patches import FancyBboxPatch

    tables = list(d["tables"])
    links = [(str(lk["parent"]), str(lk["child"]), str(lk["column"])) for lk in d["links"]]
    depth = _layers([t["name"] for t in tables], [(p, c) for p, c, _ in links])
    by_layer: dict[int, list[Mapping[str, Any]]] = {}
    for t in tables:
        by_layer.setdefault(depth[t["name"]], []).append(t)
    line, box_w, gap_x, gap_y = 0.32, 3.2, 1.2, 0.5
    boxes: dict[str, tuple[float, float, float]] = {}
    tallest = 0.0
    for layer, members in sorted(by_layer.items()):
        y = 0.0
        for t in members:
            cols = list(t["columns"])
            shown = cols[:10] + ([f"… {len(cols) - 10} more"] if len(cols) > 10 else [])
            h = line * (len(shown) + 1.6)
            boxes[t["name"]] = (layer * (box_w + gap_x), -y, h)
            y += h + gap_y
        tallest = max(tallest, y)
    width = len(by_layer) * (box_w + gap_x)
    fig, ax = plt.subplots(figsize=(max(WIDTH, width * 0.9), max(2.5, tallest * 0.9)))
    ax.set_axis_off()
    for t in tables:
        x, top, h = boxes[t["name"]]
        ax.add_patch(
            FancyBboxPatch(
                (x, top - h), box_w, h, boxstyle="round,pad=0.02", fc="#f4f7fb", ec="#3b6ea8", lw=1.0
            )
        )
        ax.add_patch(
            FancyBboxPatch(
                (x, top - line * 1.3),
                box_w,
                line * 1.3,
                boxstyle="round,pad=0.02",
                fc="#3b6ea8",
                ec="#3b6ea8",
                lw=1.0,
            )
        )
        ax.text(
            x + 0.1,
            top - line * 0.65,
            f"{t['name']}  ({t['rows']:,} rows)",
            color="white",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
        cols = list(t["columns"])
        shown = cols[:10] + ([f"… {len(cols) - 10} more"] if len(cols) > 10 else [])
        fks = {c for _, ch, c in links if ch == t["name"]}
        for i, col in enumerate(shown):
            mark = "PK " if col == t.get("key") else "FK " if col in fks else "   "
            ax.text(
                x + 0.1, top - line * (1.9 + i), f"{mark}{col}", va="center", fontsize=7, family="monospace"
            )
    for parent, child, _ in links:
        if parent not in boxes or child not in boxes or parent == child:
            continue
        px, ptop, ph = boxes[parent]
        cx, ctop, _ = boxes[child]
        start = (px + box_w, ptop - line * 0.65) if px < cx else (px + box_w / 2, ptop - ph)
        end = (cx, ctop - line * 0.65) if px < cx else (cx + box_w / 2, ctop)
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={"arrowstyle": "-|>", "color": "#555", "lw": 0.8, "connectionstyle": "arc3,rad=0.08"},
        )
    ax.set_xlim(-0.2, width)
    ax.set_ylim(-tallest - 0.2, 0.3)
    return fig


def _graph(plt: Any, d: Mapping[str, Any]) -> Any:
    nodes = [(str(n["id"]), str(n.get("label", n["id"]))) for n in d["nodes"]]
    edges = [(str(e["source"]), str(e["target"]), float(e.get("weight", 0.0))) for e in d["edges"]]
    depth = _layers([n for n, _ in nodes], [(s, t) for s, t, _ in edges])
    layers: dict[int, list[str]] = {}
    for n, _ in nodes:
        layers.setdefault(depth[n], []).append(n)
    pos = {}
    for layer, members in layers.items():
        for i, n in enumerate(members):
            pos[n] = (layer * 4.0, -(i - (len(members) - 1) / 2) * 1.5 - 0.35 * (layer % 2))
    tall = max((len(m) for m in layers.values()), default=1)
    fig, ax = plt.subplots(figsize=(max(WIDTH, 2.2 * len(layers) + 1.0), max(3.0, 0.9 * tall + 1.2)))
    ax.set_axis_off()
    biggest = max((abs(w) for _, _, w in edges), default=1.0) or 1.0
    for s, t, w in edges:
        if s not in pos or t not in pos:
            continue
        color = PALETTE[0] if w >= 0 else PALETTE[3]
        ax.annotate(
            "",
            xy=pos[t],
            xytext=pos[s],
            arrowprops={
                "arrowstyle": "-|>",
                "color": color,
                "lw": 0.6 + 3.0 * abs(w) / biggest,
                "shrinkA": 28,
                "shrinkB": 28,
                "connectionstyle": "arc3,rad=0.1",
            },
        )
        mx, my = (pos[s][0] + pos[t][0]) / 2, (pos[s][1] + pos[t][1]) / 2
        ax.text(
            mx,
            my + 0.12,
            f"{w:+.2f}",
            fontsize=7,
            ha="center",
            color=color,
            bbox={"fc": "white", "ec": "none", "pad": 0.5},
        )
    labels = dict(nodes)
    for n, (x, y) in pos.items():
        ax.text(
            x,
            y,
            _short(labels[n], 22),
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.4", "fc": "#f4f7fb", "ec": "#3b6ea8"},
        )
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    ax.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    return fig


_DRAW: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "bars": _bars,
    "lines": _lines,
    "histogram": _histogram,
    "waterfall": _waterfall,
    "er": _er,
    "graph": _graph,
}
