"""How much a laid-out document runs past the pages it must fit on.

The fit steps themselves are data (`fit:` in documents.yaml: classes the layouts define,
tried in turn by the pipeline); this measures what is left when even the last step does
not fit, so the message can say by how much.
"""

from __future__ import annotations

from typing import Any

PX_PER_MM = 96 / 25.4  # WeasyPrint lays out in CSS pixels


def overflow_mm(document: Any, pages: int) -> float:
    """The height, in mm, of what the pages after the first `pages` hold."""
    total = 0.0
    for page in document.pages[pages:]:
        top, bottom = None, None
        for box in _content_boxes(page._page_box):
            y = getattr(box, "position_y", None)
            height = box.margin_height() if hasattr(box, "margin_height") else None
            if y is None or height is None:
                continue
            top = y if top is None else min(top, y)
            bottom = y + height if bottom is None else max(bottom, y + height)
        if top is not None and bottom is not None:
            total += (bottom - top) / PX_PER_MM
    return total


def _content_boxes(page_box: Any) -> list[Any]:
    """The boxes of the page's content that hold text or images (not the page itself)."""
    from weasyprint.formatting_structure import boxes

    found = []
    for box in page_box.descendants():
        if isinstance(box, boxes.LineBox | boxes.ReplacedBox):
            found.append(box)
    return found
