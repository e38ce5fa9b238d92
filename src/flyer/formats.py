"""Paper sizes and the names of the preflight checks: plain constants that the registries
(flyer.documents) validate against and the preflight (flyer.check) reads. Kept apart
from the registries so that a render worker reads them without loading pydantic.
"""

from __future__ import annotations

# ISO 216 sizes in millimetres, portrait.
PAPER_MM: dict[str, tuple[float, float]] = {
    "A3": (297, 420), "A4": (210, 297), "A5": (148, 210), "A6": (105, 148), "A7": (74, 105)}
# Two-up imposition: two pages side by side on the next size up, landscape.
TWO_UP_SHEET = {"A7": "A6", "A6": "A5", "A5": "A4", "A4": "A3"}

# Every preflight check a profile may ask for (flyer.check implements each one).
CHECKS = ("paper", "pages", "bleed", "fonts", "colour", "black-text", "output-intent",
          "annotations", "tagging", "links", "text-size", "trim-clearance", "qr")
