"""The report's charts: server-side SVG drawn by matplotlib, inlined in pages and files.

Each chart is text, not a picture of text (``svg.fonttype: none``), carries a ``<title>``
and a ``<desc>`` that say what it shows, and always has its table beside it on the page.
The same figures give the same bytes (a fixed ``svg.hashsalt``, no metadata, no dates),
so pages can be cached and tests can compare.

Pages are served under a Content-Security-Policy without ``'unsafe-inline'`` styles, which
would blank out matplotlib's ``style=""`` attributes; so every style becomes the matching
SVG presentation attribute, which CSP leaves alone. Every ``id`` is prefixed with the
chart's own, so that many charts inline on one page never share one.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ivr.results.model import Breakdown, Proportion, TrendPoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"

#: The stylesheet's colours (app.css): link blue for figures, ink for text and whiskers.
BAR = "#1d70b8"
BAND = "#9ec2e6"
INK = "#0b0c0c"
MUTED = "#505a5f"
_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ivr-results",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Liberation Sans"],
    "font.size": 10,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "text.color": INK,
    "xtick.color": INK,
    "ytick.color": INK,
}


@lru_cache(maxsize=1)
def _matplotlib() -> tuple[Any, type[Figure]]:
    """matplotlib and its Figure, imported when the first chart is drawn: importing them
    takes half a second, which every command and web process would otherwise pay."""
    import matplotlib
    from matplotlib.figure import Figure

    # No display and no GUI toolkit: charts are only ever drawn to files (Figure, not pyplot).
    matplotlib.use("Agg")
    return matplotlib, Figure


# rcParams are global to the process and pages render in threads: one chart at a time.
_drawing = threading.Lock()
#: Style properties that have an SVG presentation attribute of the same name.
_PRESENTATION = frozenset(
    {
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-dashoffset",
        "opacity",
        "font-size",
        "font-family",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "clip-path",
    }
)
_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _pct(value: float | None) -> str:
    return "no figure" if value is None else f"{value:.1f}%"


def _said(figure: Proportion, suppress_below: int) -> str:
    """A figure in words for a chart's description."""
    if figure.suppressed:
        return f"fewer than {suppress_below}, not shown"
    if figure.percent is None:
        return "no answers"
    said = f"{_pct(figure.percent)} (95% interval {_pct(figure.low)} to {_pct(figure.high)})"
    return said + (", low base" if figure.low_base else "")


# --- the charts ---------------------------------------------------------------------------


def breakdown_chart(
    breakdown: Breakdown, *, title: str, chart_id: str, suppress_below: int = 10
) -> str:
    """A horizontal bar per group with its 95% interval as whiskers; a held-back group
    keeps its row, says so, and has no bar. Inline SVG markup."""
    rows = tuple(
        (
            g.group,
            g.figure.percent,
            g.figure.low,
            g.figure.high,
            g.figure.suppressed,
            g.figure.low_base,
        )
        for g in breakdown.groups
    )
    desc = "Bar chart of % positive with 95% intervals. " + "; ".join(
        f"{g.group}: {_said(g.figure, suppress_below)}" for g in breakdown.groups
    )
    return _breakdown_svg(rows, title, desc + ".", _chart_id(chart_id), suppress_below)


def trend_chart(
    points: Sequence[TrendPoint], *, title: str, chart_id: str, suppress_below: int = 10
) -> str:
    """The figure quarter by quarter as a line, its 95% interval as a band around it; a
    held-back quarter is a gap in both. Inline SVG markup."""
    rows = tuple(
        (p.period, p.figure.percent, p.figure.low, p.figure.high, p.figure.suppressed)
        for p in points
    )
    desc = "Line chart of % positive by quarter with its 95% interval as a band. " + "; ".join(
        f"{p.period}: {_said(p.figure, suppress_below)}" for p in points
    )
    return _trend_svg(rows, title, desc + ".", _chart_id(chart_id))


def _chart_id(text: str) -> str:
    return _ID_SAFE.sub("-", text).strip("-") or "chart"


def _label(text: str) -> str:
    """A group's name on the axis, wrapped so that long ONS group names fit."""
    return "\n".join(textwrap.wrap(text, 28)) or "-"


_BreakdownRow = tuple[str, float | None, float | None, float | None, bool, bool]


#: Inches per line of a group's name, and around the plot (the axis and its label).
_LINE_HEIGHT = 0.19
_ROW_GAP = 0.14
_FRAME = 0.62
#: Roughly how wide a character of the labels is, in inches (10 px DejaVu Sans).
_CHAR_WIDTH = 0.075
_WIDTH = 6.4


@lru_cache(maxsize=512)
def _breakdown_svg(
    rows: tuple[_BreakdownRow, ...], title: str, desc: str, chart_id: str, suppress_below: int
) -> str:
    labels = [
        _label(group + (" (low base)" if low_base and percent is not None else ""))
        for group, percent, _, _, _, low_base in rows
    ]
    lines = sum(label.count("\n") + 1 for label in labels)
    height = _FRAME + _LINE_HEIGHT * max(lines, 1) + _ROW_GAP * max(len(rows), 1)
    longest = max((len(line) for label in labels for line in label.split("\n")), default=1)
    # Fixed margins, not tight_layout: it measures every label twice and doubles the time.
    left = min(0.45, (0.15 + _CHAR_WIDTH * longest) / _WIDTH)
    shown = [
        (y, percent, low, high)
        for y, (_, percent, low, high, suppressed, _) in enumerate(rows)
        if not suppressed and percent is not None
    ]
    matplotlib, Figure = _matplotlib()
    with _drawing, matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(_WIDTH, height))
        fig.subplots_adjust(left=left, right=0.97, top=1 - 0.08 / height, bottom=0.5 / height)
        ax = fig.subplots()
        if shown:
            ys = [y for y, _, _, _ in shown]
            values = [p for _, p, _, _ in shown]
            ax.barh(ys, values, color=BAR, height=0.6)
            whiskers = [
                (y, p, lo, hi) for y, p, lo, hi in shown if lo is not None and hi is not None
            ]
            if whiskers:
                ax.errorbar(
                    [p for _, p, _, _ in whiskers],
                    [y for y, _, _, _ in whiskers],
                    xerr=[
                        [p - lo for _, p, lo, _ in whiskers],
                        [hi - p for _, p, _, hi in whiskers],
                    ],
                    fmt="none",
                    ecolor=INK,
                    capsize=4,
                    linewidth=1.2,
                )
            for y, p, _, hi in shown:
                ax.text((hi if hi is not None else p) + 1.5, y, f"{p:.0f}%", va="center")
        for y, (_, percent, _, _, suppressed, _) in enumerate(rows):
            if suppressed or percent is None:
                words = f"fewer than {suppress_below}: not shown" if suppressed else "no answers"
                ax.text(1, y, words, va="center", color=MUTED, fontstyle="italic")
        ax.set_yticks(range(len(rows)), labels)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        # Room past 100 for the figure beside a whisker that reaches it.
        ax.set_xlim(0, 112)
        ax.set_xticks([0, 20, 40, 60, 80, 100])
        ax.spines["bottom"].set_bounds(0, 100)
        ax.set_xlabel("% positive (whiskers: 95% interval)")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        svg = _svg_text(fig)
    return _inline(svg, chart_id, title, desc)


_TrendRow = tuple[str, float | None, float | None, float | None, bool]


@lru_cache(maxsize=256)
def _trend_svg(rows: tuple[_TrendRow, ...], title: str, desc: str, chart_id: str) -> str:
    xs = list(range(len(rows)))

    def value(v: float | None, suppressed: bool) -> float:
        return math.nan if suppressed or v is None else v

    percent = [value(r[1], r[4]) for r in rows]
    low = [value(r[2], r[4]) for r in rows]
    high = [value(r[3], r[4]) for r in rows]
    matplotlib, Figure = _matplotlib()
    with _drawing, matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(_WIDTH, 3.2))
        fig.subplots_adjust(left=0.1, right=0.98, top=0.86, bottom=0.2)
        ax = fig.subplots()
        ax.fill_between(xs, low, high, color=BAND, linewidth=0, label="95% interval")
        ax.plot(xs, percent, color=BAR, marker="o", linewidth=2, label="% positive")
        for x, row in zip(xs, rows, strict=True):
            if row[4] or row[1] is None:
                words = "not\nshown" if row[4] else "no\nanswers"
                ax.text(x, 4, words, ha="center", color=MUTED, fontstyle="italic")
        ax.set_xticks(xs, [r[0].replace(" ", "\n", 1) for r in rows])
        ax.set_xlim(-0.5, len(rows) - 0.5)
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
        ax.set_ylabel("% positive")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        # Above the plot, where no point or band can be.
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, ncols=2)
        svg = _svg_text(fig)
    return _inline(svg, chart_id, title, desc)


def _svg_text(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()


# --- making matplotlib's SVG fit to inline --------------------------------------------------


def _inline(svg: str, chart_id: str, title: str, desc: str) -> str:
    """matplotlib's SVG document as an element to inline: described, styles as
    attributes, ids of its own, no metadata."""
    root = ET.fromstring(svg)
    # Plain names (``path``, ``href``), not ElementTree's prefixes: they do not depend on
    # the process-wide namespace map, which other libraries register prefixes in.
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
        if f"{{{XLINK}}}href" in element.attrib:
            element.set("href", element.attrib.pop(f"{{{XLINK}}}href"))
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in ("metadata", "style"):
                parent.remove(child)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == "defs" and len(child) == 0:
                parent.remove(child)
    # What matplotlib's removed stylesheet said for every element, inherited instead.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    for element in root.iter():
        _styles_to_attributes(element)
        _prefix_ids(element, chart_id)
    root.set("xmlns", SVG)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
    root.set("class", "chart-svg")
    title_element = ET.Element("title", {"id": f"{chart_id}-title"})
    title_element.text = title
    desc_element = ET.Element("desc", {"id": f"{chart_id}-desc"})
    desc_element.text = desc
    root.insert(0, desc_element)
    root.insert(0, title_element)
    return ET.tostring(root, encoding="unicode")


def _styles_to_attributes(element: ET.Element) -> None:
    style = element.attrib.pop("style", None)
    if not style:
        return
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip(), value.strip()
        if colon and name in _PRESENTATION and value:
            element.set(name, value)


def _prefix_ids(element: ET.Element, chart_id: str) -> None:
    if "id" in element.attrib:
        element.set("id", f"{chart_id}-{element.attrib['id']}")
    for name, value in list(element.attrib.items()):
        if name == "href" and value.startswith("#"):
            element.set(name, f"#{chart_id}-{value[1:]}")
        elif "url(#" in value:
            element.set(name, value.replace("url(#", f"url(#{chart_id}-"))
