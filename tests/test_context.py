"""Model → template context: Markdown without raw HTML, French spacing, QR sizes."""

from __future__ import annotations

from flyer.context import markdown_to_html, qr_size_mm, typeset
from flyer.qr import QUIET_ZONE, qr_matrix


def test_raw_html_in_markdown_prints_as_text() -> None:
    html = markdown_to_html(
        '<link rel="attachment" href="file:///etc/passwd">\n\n'
        'Texte <img src="http://127.0.0.1:9/x.png"> et ![logo](file:///etc/passwd)',
        "fr",
    )
    assert "<link" not in html and "<img" not in html
    assert "&lt;link rel=&quot;attachment&quot;" in html or "&lt;link" in html


def test_markdown_keeps_emphasis_lists_and_headings() -> None:
    html = markdown_to_html("## Comment réagir ?\n\n- un (ex : *deux*)\n", "fr")
    assert "<h2>Comment réagir\u00a0?</h2>" in html
    assert "<li>un (ex\u00a0: <em>deux</em>)</li>" in html


def test_french_spacing_only_changes_spaces() -> None:
    assert typeset("agir ; le temps : « oui » ?", "fr") == (
        "agir\u00a0; le temps\u00a0: «\u00a0oui\u00a0»\u00a0?")
    assert typeset("agir ; ja ?", "nl") == "agir ; ja ?"


def test_qr_size_makes_the_symbol_reach_the_minimum() -> None:
    payload = "mailto:dir.cpms.cf.taumat@psec.cfwb.be"
    size = qr_size_mm([payload], 20)
    modules = len(qr_matrix(payload))
    assert size * (modules - 2 * QUIET_ZONE) / modules >= 20
    assert qr_size_mm([payload], 30) * (modules - 2 * QUIET_ZONE) / modules >= 30
