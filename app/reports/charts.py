"""Bar charts as geometry for an SVG template: no JavaScript, no style attributes (the CSP
forbids them), only shapes and presentation attributes. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

FONT = 12
ROW = 22  # height of one horizontal bar's row
LABEL_W = 150  # room for the category labels of horizontal bars
VALUE_W = 70  # room for the value printed after a horizontal bar


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the value as printed
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start | middle | end


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    texts: list[Text]
    axis: tuple[float, float, float, float]  # x1, y1, x2, y2 of the base line


def _scale(values: list[float]) -> float:
    top = max(values, default=0.0)
    return top if top > 0 else 1.0


def horizontal(title: str, items: list[tuple[str, float, str]], width: int = 520) -> Chart:
    """One bar per (label, value, shown), top to bottom, values printed after the bars."""
    plot = width - LABEL_W - VALUE_W
    top = _scale([v for _, v, _ in items])
    bars, texts = [], []
    for i, (label, value, shown) in enumerate(items):
        y = 8 + i * ROW
        length = max(0.0, value) / top * plot
        bars.append(Bar(label, shown, LABEL_W, y + 3, round(length, 1), ROW - 6))
        texts.append(Text(LABEL_W - 6, y + ROW / 2 + FONT / 3, label[:22], "end"))
        texts.append(Text(round(LABEL_W + length + 4, 1), y + ROW / 2 + FONT / 3, shown))
    height = 16 + max(1, len(items)) * ROW
    return Chart(title, width, height, bars, texts, (LABEL_W, 4, LABEL_W, height - 4))


def columns(title: str, items: list[tuple[str, float, str]], width: int = 720,
            plot_height: int = 160) -> Chart:
    """One column per item, left to right (a time series); at most ~12 labels underneath."""
    left, bottom = 10, 18 + plot_height  # room above the tallest column for its value
    n = max(1, len(items))
    slot = (width - 2 * left) / n
    top = _scale([v for _, v, _ in items])
    every = math.ceil(n / 12)
    bars, texts = [], []
    for i, (label, value, shown) in enumerate(items):
        h = max(0.0, value) / top * plot_height
        x = left + i * slot
        bars.append(Bar(label, shown, round(x + slot * 0.1, 1), round(bottom - h, 1),
                        round(slot * 0.8, 1), round(h, 1)))
        centre = round(x + slot / 2, 1)
        if n <= 24 and value > 0:
            texts.append(Text(centre, round(bottom - h - 3, 1), shown, "middle"))
        if i % every == 0:
            texts.append(Text(centre, bottom + FONT + 4, label, "middle"))
    return Chart(title, width, bottom + FONT + 12, bars, texts,
                 (left, bottom, width - left, bottom))
