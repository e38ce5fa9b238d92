"""QR codes: the `mailto:` payload (pure) and a vector SVG image of it.

The SVG is drawn from the module matrix as one path of horizontal runs, so the
colour of the dark modules is a parameter (press files need K-only black) and the
image carries no element id that would clash when several codes share a page.
"""

from __future__ import annotations

import base64
import struct
import zlib
from functools import lru_cache
from urllib.parse import quote

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules; ISO/IEC 18004 requires 4 around a QR code
# `flyer-qr:mailto:a@b.be` in a layout's HTML: the code of that payload, which the
# fetcher (flyer.fetch) draws when WeasyPrint asks for it.
QR_SCHEME = "flyer-qr"
# qrcode tries all 8 masks to pick the best one, ~80 % of its time; any mask decodes.
MASK_PATTERN = 2


def mailto_uri(email: str) -> str:
    """`mailto:` URI for one address, percent-encoding what RFC 6068 §2 requires."""
    return "mailto:" + quote(email, safe="@!$'()*+,:")


@lru_cache(maxsize=1024)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The module matrix of `payload`, quiet zone included, error correction M."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, mask_pattern=MASK_PATTERN
    )
    code.add_data(payload)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def dark_rectangles(matrix: tuple[tuple[bool, ...], ...]) -> list[tuple[int, int, int, int]]:
    """Cover the dark modules with (x, y, width, height) rectangles.

    Each horizontal run is extended downwards while the rows below repeat it exactly;
    WeasyPrint parses SVG paths in Python, so fewer commands draw measurably faster.
    """
    size = len(matrix)
    covered = [[False] * size for _ in range(size)]
    rectangles = []
    for y in range(size):
        x = 0
        while x < size:
            if not matrix[y][x] or covered[y][x]:
                x += 1
                continue
            start = x
            while x < size and matrix[y][x] and not covered[y][x]:
                x += 1
            height = 1
            while y + height < size and _same_run(matrix[y + height], covered[y + height],
                                                  start, x):
                height += 1
            for row in range(y, y + height):
                covered[row][start:x] = [True] * (x - start)
            rectangles.append((start, y, x - start, height))
    return rectangles


def _same_run(row: tuple[bool, ...], covered: list[bool], start: int, end: int) -> bool:
    """The row has a dark run exactly from `start` to `end`, not yet covered."""
    inside = all(row[k] and not covered[k] for k in range(start, end))
    left_edge = start == 0 or not row[start - 1] or covered[start - 1]
    right_edge = end == len(row) or not row[end] or covered[end]
    return inside and left_edge and right_edge


@lru_cache(maxsize=1024)
def qr_svg(payload: str, color: str = "#000", background: str = "#fff") -> str:
    """A vector SVG of the code: a light background (the quiet zone) and one dark path.

    Both colours are parameters: press files need `device-cmyk()` for both, since a
    white written as `#fff` is still an RGB colour operator in a PDF/X file.
    """
    matrix = qr_matrix(payload)
    size = len(matrix)
    path = "".join(f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in dark_rectangles(matrix))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size}" height="{size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="{background}"/>'
        f'<path fill="{color}" d="{path}"/></svg>'
    )


def qr_data_uri(payload: str, color: str = "#000", background: str = "#fff") -> str:
    """The SVG as a `data:` URI, for an `<img>` that can carry an alt text."""
    svg = qr_svg(payload, color, background).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


@lru_cache(maxsize=1024)
def qr_modules(payload: str) -> int:
    """Width of the symbol in modules, without the quiet zone: from its version alone,
    without drawing the matrix (a plan sizes every code before anything is drawn)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE,
                         mask_pattern=MASK_PATTERN)
    code.add_data(payload)
    version: int = code.best_fit()
    return 17 + 4 * version


@lru_cache(maxsize=1024)
def qr_png(payload: str) -> bytes:
    """A 1-bit PNG of the code, one pixel per module, quiet zone included.

    Drawn as an image XObject, a code costs WeasyPrint nothing to paint (an SVG path
    is ~25 ms per code per page) and identical codes in merged files are one object.
    Printed sharp because the layouts set `image-rendering: pixelated` (no interpolation).
    """
    matrix = qr_matrix(payload)
    size = len(matrix)
    rows = bytearray()
    for row in matrix:
        rows.append(0)  # filter type: none
        for start in range(0, size, 8):
            byte = 0
            for bit, dark in enumerate(row[start:start + 8]):
                if not dark:
                    byte |= 0x80 >> bit  # 1 = white in a 1-bit grayscale PNG
            rows.append(byte)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def qr_url(payload: str) -> str:
    """The URL a layout shows the code of `payload` with (`<img src>`): it names the code
    rather than carrying it, so the HTML is the same whether or not it is drawn (a plan
    that renders nothing draws no code), and the fetcher draws it once per process."""
    return f"{QR_SCHEME}:{payload}"
