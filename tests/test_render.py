"""HTML → PDF: the shipped fonts only, and a warning when the data needs another one."""

from __future__ import annotations

from pathlib import Path

from flyer.build import BuildOptions, build

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent


def test_characters_missing_from_the_font_are_reported(data_copy: Path, tmp_path: Path) -> None:
    contacts = data_copy / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    contacts.write_text(text.replace("sur tes droits.", "sur tes droits ☎ Ωμέγα."),
                        encoding="utf-8")
    result = build(BuildOptions(data=data_copy, layouts=ROOT / "layouts", out=tmp_path / "out",
                                langs=("fr",)))
    fallbacks = [w for w in result.warnings if "police de cet ordinateur" in w.message]
    assert {w.path.name for w in fallbacks if w.path} == {"leaflet-fr.pdf", "letter-fr.pdf"}
    # The fallback really happened: a font other than the shipped family is in the file.
    fonts = pdfread.fonts(tmp_path / "out" / "leaflet-fr.pdf")
    assert any("Atkinson" not in name for name in fonts)
