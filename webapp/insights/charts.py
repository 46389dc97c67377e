"""Bar charts drawn on the server as SVG shapes (the page has no script, and the CSP allows no
inline style: colours come from classes in app.css). Each chart carries its text alternative
(a title and a description of what it shows); the table under it holds every figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

WIDTH = 640
HEIGHT = 240
LEFT = 8  # the plot's left edge (amounts are written inside it, over the gridlines)
TOP = 16
BOTTOM = 40  # room for the labels under the columns
ROW = 26  # a horizontal bar's height, with its gap


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    css: str  # which colour (a class in app.css)
    value: Decimal
    label: str


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    label: str  # under the column ("" when labels are thinned out)
    segments: list[Segment]
    title: str  # its figures, as a tooltip and for screen readers


@dataclass(frozen=True)
class Gridline:
    y: float
    value: Decimal


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    columns: list[Column]
    gridlines: list[Gridline]
    baseline: float
    legend: list[tuple[str, str]]  # (css class, name) of each kind of segment


def _nice_step(top: Decimal) -> Decimal:
    """A round step (1, 2 or 5 × a power of ten) giving about four gridlines up to top."""
    if top <= 0:
        return Decimal(1)
    rough = top / 4
    power = Decimal(10) ** (len(str(int(rough))) - 1) if rough >= 1 else Decimal("0.01")
    for factor in (1, 2, 5, 10):
        if power * factor >= rough:
            return power * factor
    return power * 10


def column_chart(
    labels: Sequence[str],
    stacks: Sequence[Sequence[Decimal]],
    kinds: Sequence[tuple[str, str]],
    titles: Sequence[str],
) -> ColumnChart:
    """Columns, one per label, each a stack of segments (one per kind, in order); amounts
    below zero are drawn as zero (the table shows them as they are)."""
    totals = [sum((max(v, Decimal(0)) for v in stack), Decimal(0)) for stack in stacks]
    highest = max(totals, default=Decimal(0))
    step = _nice_step(highest)
    top = step * ((highest / step).to_integral_value(rounding=ROUND_CEILING) or 1)
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    count = max(len(labels), 1)
    slot = (WIDTH - LEFT) / count
    every = max(1, -(-count // 12))  # at most about 12 labels under the columns
    columns = []
    for index, (label, stack, title) in enumerate(zip(labels, stacks, titles, strict=True)):
        y: float = baseline
        segments = []
        for value, (css, name) in zip(stack, kinds, strict=True):
            height = float(max(value, Decimal(0)) / top) * plot_height
            y -= height
            segments.append(Segment(round(y, 2), round(height, 2), css, value, name))
        columns.append(
            Column(
                round(LEFT + index * slot + slot * 0.12, 2),
                round(slot * 0.76, 2),
                label if index % every == 0 else "",
                segments,
                title,
            )
        )
    gridlines = []
    value = step
    while value <= top:
        gridlines.append(Gridline(round(baseline - float(value / top) * plot_height, 2), value))
        value += step
    return ColumnChart(WIDTH, HEIGHT, columns, gridlines, baseline, list(kinds))


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str
    value: Decimal


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    label_width: int


def bar_chart(items: Sequence[tuple[str, Decimal]]) -> BarChart:
    """Horizontal bars, one per named item (products, customers), longest first as given."""
    label_width = 200
    room = WIDTH - label_width - 110  # the amount is written after the bar
    top = max((max(v, Decimal(0)) for _, v in items), default=Decimal(0)) or Decimal(1)
    bars = [
        Bar(8 + i * ROW, round(float(max(v, Decimal(0)) / top) * room, 2), name, v)
        for i, (name, v) in enumerate(items)
    ]
    return BarChart(WIDTH, 16 + ROW * max(len(items), 1), bars, label_width)
