"""Render the first pages of built PDFs to PNG: `python bench/previews.py BUILD_DIR DEST_DIR`.

Used by `make previews` for the README pictures, and by hand to look at a build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pypdfium2 as pdfium

PREVIEWS = {"leaflet-fr.pdf": 110 / 72, "poster-fr.pdf": 80 / 72}


def render(pdf: Path, dest: Path, scale: float) -> list[Path]:
    written = []
    document = pdfium.PdfDocument(pdf)
    for index, page in enumerate(document):
        target = dest / f"{pdf.stem}-{index + 1}.png"
        image = page.render(scale=scale).to_pil().convert("RGB")
        # 64 colours are plenty for text and two inks, and keep the PNGs small in git.
        image.quantize(colors=64).save(target, optimize=True)
        written.append(target)
    document.close()
    return written


def main(argv: list[str]) -> None:
    source, dest = Path(argv[1]), Path(argv[2])
    everything = len(argv) > 3 and argv[3] == "--all"
    dest.mkdir(parents=True, exist_ok=True)
    targets = sorted(source.glob("*.pdf")) if everything else [source / n for n in PREVIEWS]
    for pdf in targets:
        for path in render(pdf, dest, PREVIEWS.get(pdf.name, 2.0) if not everything else 1.5):
            print(path)


if __name__ == "__main__":
    main(sys.argv)
