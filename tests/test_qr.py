"""QR payloads as exact strings, and the SVG drawn from the module matrix."""

from __future__ import annotations

import pytest

from flyer.qr import QUIET_ZONE, mailto_uri, qr_matrix, qr_modules, qr_svg


@pytest.mark.parametrize(
    ("email", "uri"),
    [
        ("cpms.libre.mouscron@skynet.be", "mailto:cpms.libre.mouscron@skynet.be"),
        ("a+b@example.be", "mailto:a+b@example.be"),
        # RFC 6068 §2: % / ? # [ ] & ; = must be percent-encoded in the address.
        ("a&b=c@example.be", "mailto:a%26b%3Dc@example.be"),
        ("x?y#z@example.be", "mailto:x%3Fy%23z@example.be"),
        ("100%@example.be", "mailto:100%25@example.be"),
        ("élève@école.be", "mailto:%C3%A9l%C3%A8ve@%C3%A9cole.be"),
    ],
)
def test_mailto_uri_percent_encodes_what_rfc_6068_requires(email: str, uri: str) -> None:
    assert mailto_uri(email) == uri


def test_matrix_keeps_a_four_module_quiet_zone() -> None:
    matrix = qr_matrix("mailto:cpms.libre.mouscron@skynet.be")
    size = len(matrix)
    border = [matrix[y][x] for y in range(size) for x in range(size)
              if min(x, y, size - 1 - x, size - 1 - y) < QUIET_ZONE]
    assert not any(border)
    assert qr_modules("mailto:cpms.libre.mouscron@skynet.be") == size - 2 * QUIET_ZONE == 29


def test_svg_is_vector_with_the_requested_colour_and_no_ids() -> None:
    svg = qr_svg("mailto:egalite@mouscron.be", "device-cmyk(0 0 0 1)")
    assert svg.startswith("<svg") and "<path" in svg and "<image" not in svg
    assert 'fill="device-cmyk(0 0 0 1)"' in svg
    assert " id=" not in svg


def test_rectangles_cover_exactly_the_dark_modules() -> None:
    from flyer.qr import dark_rectangles

    matrix = qr_matrix("mailto:christophe.bourgois@cfwb.be")
    painted = set()
    for x, y, w, h in dark_rectangles(matrix):
        cells = {(x + i, y + j) for i in range(w) for j in range(h)}
        assert not painted & cells, "rectangles overlap"
        painted |= cells
    dark = {(x, y) for y, row in enumerate(matrix) for x, value in enumerate(row) if value}
    assert painted == dark
