"""Bar charts as server-drawn SVG (no JavaScript, nothing fetched): the geometry of each bar,
its label and the listing it links to; templates/_kb_chart.html draws them."""

from __future__ import annotations

from typing import Callable

WIDTH = 560  # the SVG's viewBox width; it scales to its box
EDGE = 16  # room beside the first and last column for half a year label


def bars(title: str, counts: list[list], link: Callable[[object], str], vertical: bool = False) -> dict:
    """A chart of (value, count) pairs: columns (years, in order) or rows (categories, largest first)."""
    top = max(count for _, count in counts) or 1
    if vertical:
        height, base, gap = 180, 150, 2
        step = (WIDTH - 2 * EDGE) / len(counts)
        marks = [{"x": round(EDGE + i * step + gap / 2, 1), "width": round(max(step - gap, 1), 1),
                  "height": round(max(count / top * (base - 10), 1), 1), "label": str(value), "count": count,
                  "href": link(value)} for i, (value, count) in enumerate(counts)]
        for m in marks:
            m["y"] = round(base - m["height"], 1)
        every = max(1, round(len(marks) / 12))  # a readable number of year labels
        for i, m in enumerate(marks):
            m["show_label"] = i % every == 0
        return {"title": title, "vertical": True, "width": WIDTH, "height": height, "base": base, "marks": marks}
    row, label_width = 22, 170
    marks = [{"x": label_width, "y": i * row, "height": row - 6, "label": str(value), "count": count,
              "width": round(max(count / top * (WIDTH - label_width - 60), 1), 1), "href": link(value)}
             for i, (value, count) in enumerate(counts)]
    return {"title": title, "vertical": False, "width": WIDTH, "height": len(marks) * row, "marks": marks,
            "label_width": label_width}
