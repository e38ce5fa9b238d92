"""QR codes: the `mailto:` payload (pure) and a vector SVG image of it.

The SVG is drawn from the module matrix as one path of horizontal runs, so the
colour of the dark modules is a parameter (press files need K-only black) and the
image carries no element id that would clash when several codes share a page.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import quote

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules; ISO/IEC 18004 requires 4 around a QR code
# qrcode tries all 8 masks to pick the best one, ~80 % of its time; any mask decodes.
MASK_PATTERN = 2


def mailto_uri(email: str) -> str:
    """`mailto:` URI for one address, percent-encoding what RFC 6068 §2 requires."""
    return "mailto:" + quote(email, safe="@!$'()*+,:")


def tel_uri_digits(uri: str) -> str:
    """The dialled part of a `tel:` URI (for alt texts and checks)."""
    return uri.removeprefix("tel:")


@lru_cache(maxsize=1024)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The module matrix of `payload`, quiet zone included, error correction M."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, mask_pattern=MASK_PATTERN
    )
    code.add_data(payload)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


@lru_cache(maxsize=1024)
def qr_svg(payload: str, color: str = "#000") -> str:
    """A vector SVG of the code: white background (the quiet zone) and one dark path."""
    matrix = qr_matrix(payload)
    size = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="{color}" d="{"".join(runs)}"/></svg>'
    )


def qr_data_uri(payload: str, color: str = "#000") -> str:
    """The SVG as a `data:` URI, for an `<img>` that can carry an alt text."""
    svg = qr_svg(payload, color).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def qr_modules(payload: str) -> int:
    """Width of the symbol in modules, without the quiet zone."""
    return len(qr_matrix(payload)) - 2 * QUIET_ZONE
