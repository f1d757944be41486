"""Bar charts as inline SVG geometry, computed on the server (no chart library, nothing from a CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, GAP = 720, 160, 1


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int


@dataclass(frozen=True)
class BarChart:
    label: str
    bars: list[Bar]
    peak: int
    total: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def first(self) -> date | None:
        return self.bars[0].day if self.bars else None

    @property
    def last(self) -> date | None:
        return self.bars[-1].day if self.bars else None


def bar_chart(points: list[tuple[date, int]], *, label: str) -> BarChart:
    peak = max((value for _, value in points), default=0)
    step = WIDTH / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        height = (value / peak) * (HEIGHT - 4) if peak else 0
        height = max(height, 1.5)  # an empty day still shows as a baseline tick
        bars.append(
            Bar(
                round(index * step, 2),
                round(HEIGHT - height, 2),
                round(max(step - GAP, 1), 2),
                round(height, 2),
                day,
                value,
            )
        )
    return BarChart(label=label, bars=bars, peak=peak, total=sum(v for _, v in points))
