"""Benchmark: flyer's warm A4 leaflet against the same leaflet typeset by Typst.

    PYTHONPATH=src .venv/bin/python bench/peer.py [--runs 15] [--keep DIR]

Both sides start from the campaign flyer's own loaders read (data/, French), use the
fonts of layouts/fonts/ only and draw the QR codes from the same vector SVG
(`flyer.qr.qr_svg`). Typst runs in this process (the `typst` package, extra `bench`),
on bench/peer/leaflet.typ, which gets the data as JSON through `sys.inputs`.

Before timing, both PDFs are checked the same way (and the run stops if either fails):
2 pages, every service name, phone and address in the extracted text, every QR code
decoded from a 150 dpi render to exactly the expected `mailto:` payloads, no raster
image, only the layout's fonts, the same links, and flyer's own preflight (`check_pdf`).

Warm = one complete leaflet to PDF bytes in a process that has already made one: flyer
(context, HTML, WeasyPrint layout, PDF) and Typst (input JSON, compile, PDF), interleaved
run by run so both see the same machine noise; min and median wall time, and the median
CPU time of the whole process (all threads). Typst memoizes layout between compiles of
the same input: the "warm" line is mostly that cache. The "fresh layout" line moves the
top margin by a sub-micrometre amount each run so nothing laid out before can be reused:
what a leaflet with other data costs (fonts loaded and SVGs parsed stay cached, as
flyer's fonts, stylesheets and QR images do).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flyer.build import BuildOptions, Job, Plan, document_task, plan
from flyer.context import qr_size_mm, typeset
from flyer.lifetime import collection_paused
from flyer.load import load_campaign
from flyer.model import Campaign
from flyer.qr import mailto_uri, qr_svg
from flyer.render import Renderer, has_fast_subsetting
from flyer.templates import load_strings
from flyer.worker import build_date, document_file, renderer_for

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
LAYOUTS = ROOT / "layouts"
TYPST_SOURCE = Path(__file__).resolve().parent / "peer" / "leaflet.typ"
LANG = "fr"


def flyer_leaflet_once(campaign: Campaign) -> bytes:
    """flyer's warm A4 leaflet: context → HTML → WeasyPrint layout → PDF bytes, QR codes
    stamped: the office leaflet job of `flyer build`, in this process, without the cache
    and without the preflight (Typst has none).

    The one place to rewire when flyer's pipeline API changes.
    """
    planned, job, renderer = _flyer_tools()
    planned = dataclasses.replace(planned, campaign=campaign, html={})
    task = document_task(planned, job)  # the plan's part, then the worker's, which
    with collection_paused():  # runs with collections paused (flyer.worker)
        pdf, _, _, _ = document_file(task, renderer)
    assert pdf is not None
    return pdf


@functools.cache
def _flyer_tools() -> tuple[Plan, Job, Renderer]:
    """What `flyer build` sets up once: the plan's Jinja, and per worker the fonts,
    fetcher and stylesheets."""
    planned = plan(BuildOptions(data=DATA, layouts=LAYOUTS, out=Path(tempfile.mkdtemp()),
                                langs=(LANG,), cache=False))
    job = next(j for j in planned.jobs if j.document == "leaflet" and j.profile == "office")
    return planned, job, renderer_for(LAYOUTS, planned.work.layouts_digest, DATA)


# Typst ----------------------------------------------------------------------------------
def markdown_blocks(source: str, lang: str) -> list[dict[str, Any]]:
    """The letter's Markdown as blocks of inline runs, parsed as `markdown_to_html` does.

    Same parser, same options and the same French spacing (`typeset`) as flyer, so both
    leaflets print the same words; the result is data, never Typst markup, so a `#` or
    `*` typed in the letter cannot run as Typst code.
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_inline", "html_block"])
    tokens = md.parse(source)
    root: list[dict[str, Any]] = []
    stack: list[list[dict[str, Any]]] = [root]  # where the next block goes
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" or token.type == "heading_open":
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            kind = "ul" if token.type == "bullet_list_open" else "ol"
            block: dict[str, Any] = {"kind": kind, "items": [],
                                     "start": int(token.attrGet("start") or 1)}
            stack[-1].append(block)
            stack.append(block["items"])
        elif token.type == "list_item_open":
            item: list[dict[str, Any]] = []
            stack[-1].append(item)  # type: ignore[arg-type]
            stack.append(item)
        elif token.type in ("bullet_list_close", "ordered_list_close", "list_item_close"):
            stack.pop()
        elif token.type == "inline":
            parent = tokens[index - 1]
            runs = _inline_runs(token.children or [], lang)
            if parent.type == "heading_open":
                stack[-1].append({"kind": "h", "level": int(parent.tag[1]), "inlines": runs})
            else:
                stack[-1].append({"kind": "p", "inlines": runs})
        elif token.type == "hr":
            stack[-1].append({"kind": "p", "inlines": [_run("―")]})
        elif token.content:  # code blocks, fences: printed as typed
            stack[-1].append({"kind": "p", "inlines": [_run(token.content)]})
    return root


def _run(text: str, em: bool = False, strong: bool = False,
         href: str | None = None) -> dict[str, Any]:
    return {"t": text, "em": em, "strong": strong, "href": href}


def _inline_runs(children: list[Any], lang: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    em = strong = 0
    href: str | None = None
    for child in children:
        kind = child.type
        if kind == "em_open" or kind == "em_close":
            em += 1 if kind == "em_open" else -1
        elif kind == "strong_open" or kind == "strong_close":
            strong += 1 if kind == "strong_open" else -1
        elif kind == "link_open":
            href = str(child.attrGet("href"))
        elif kind == "link_close":
            href = None
        elif kind in ("softbreak", "hardbreak"):
            runs.append({"br": kind.removesuffix("break")})
        elif child.content:
            text = typeset(child.content, lang) if kind == "text" else child.content
            runs.append(_run(text, em > 0, strong > 0, href))
    return runs


def typst_inputs(campaign: Campaign, lang: str, strings: dict[str, str]) -> dict[str, Any]:
    """Everything leaflet.typ prints, from the same campaign and helpers as flyer's context."""
    letter = campaign.letters[lang]
    contacts = []
    for contact in campaign.contacts.contacts:
        mailto = mailto_uri(contact.email) if contact.email else None
        description = typeset(contact.describe(lang), lang)
        contacts.append({
            "name": contact.name,
            "phone": contact.phone.text,
            "phone_uri": contact.phone.uri,
            "email": contact.email,
            "mailto": mailto,
            # base.css: an address over 34 characters may wrap anywhere.
            "long": bool(contact.email) and len(contact.email) > 34,
            "description": description or None,
            "qr": qr_svg(mailto) if mailto else None,
            "qr_alt": strings["qr_alt"].format(email=contact.email) if mailto else None,
        })
    updated = campaign.contacts.updated
    return {
        "lang": lang,
        "title": typeset(letter.title, lang),
        "headline": typeset(letter.headline, lang),
        "body": markdown_blocks(letter.body, lang),
        "see_overleaf": strings["see_overleaf"],
        "phone_label": strings["phone_label"],
        "updated_text": strings["updated"].format(date=f"{updated:%d/%m/%Y}"),
        "contacts": contacts,
        "qr_size_mm": qr_size_mm([c["mailto"] for c in contacts if c["mailto"]], 20.0),
    }


class TypstLeaflet:
    """One Typst compiler for the process, as flyer keeps one Renderer."""

    def __init__(self) -> None:
        import typst

        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                            font_paths=[str(LAYOUTS / "fonts")])
        self.compiler = typst.Compiler(str(TYPST_SOURCE), root=str(TYPST_SOURCE.parent),
                                       font_paths=fonts, ignore_system_fonts=True)
        self.strings = load_strings(LAYOUTS, LANG)  # "Tél.", the date line…

    def once(self, campaign: Campaign, nudge: int = 0) -> bytes:
        """The leaflet's PDF bytes; `nudge` ≠ 0 defeats Typst's layout memoization."""
        pdf, _ = self._compile(campaign, nudge, with_warnings=False)
        return pdf

    def warnings(self, campaign: Campaign) -> list[str]:
        """Typst's warnings for the leaflet (an unknown font, a missing glyph…)."""
        return self._compile(campaign, 0, with_warnings=True)[1]

    def _compile(self, campaign: Campaign, nudge: int, with_warnings: bool
                 ) -> tuple[bytes, list[str]]:
        inputs = {"data": json.dumps(typst_inputs(campaign, LANG, self.strings)),
                  "nudge": f"{nudge * 1e-6:.6f}"}
        # Untagged, as flyer's office leaflet: the same kind of file on both sides.
        options: dict[str, Any] = {"format": "pdf", "sys_inputs": inputs, "pdf_tags": False,
                                   "timestamp": build_date(campaign.contacts.updated)}
        warnings: list[Any] = []
        if with_warnings:
            pdf, warnings = self.compiler.compile_with_warnings(**options)
        else:
            pdf = self.compiler.compile(**options)
        assert isinstance(pdf, bytes)
        return pdf, [str(w.message) for w in warnings]


# Equivalence ----------------------------------------------------------------------------
def _text(pdf: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def _flat(text: str) -> str:
    """Extracted text on one line: line breaks, hyphenation points and NBSP as spaces, and
    an address broken after its @ (flyer's layout does that for long ones) joined again."""
    text = re.sub(r"[\ufffe\u00ad\x02\u200b]\s*", "", text)  # a hyphenated word, joined
    text = re.sub(r"@\s+", "@", text)
    return re.sub(r"\s+", " ", text)


def _words(pages: list[str]) -> Counter[str]:
    """The words, without hyphens: pdfium reports a hyphen that ends a line as a soft one,
    so "vous-même" broken after its hyphen reads "vousmême"."""
    text = _flat(" ".join(pages)).replace("- ", "-")
    return Counter(word.replace("-", "") for word in re.findall(r"[\w@./'’-]+", text))


def _decoded(pdf: bytes, dpi: int = 150) -> list[str]:
    import pypdfium2 as pdfium
    import zxingcpp

    document = pdfium.PdfDocument(pdf)
    found = []
    try:
        for page in document:
            image = page.render(scale=dpi / 72).to_pil()
            found += [r.text for r in zxingcpp.read_barcodes(
                image, formats=zxingcpp.BarcodeFormat.QRCodeModel2,  # type: ignore[arg-type]
            ) if r.valid]
    finally:
        document.close()
    return found


def _pdf_facts(pdf: bytes) -> dict[str, Any]:
    """Pages, fonts, raster images and link targets, read with pikepdf."""
    import io

    import pikepdf

    fonts: set[str] = set()
    images = 0
    links: list[str] = []
    seen: set[tuple[int, int]] = set()

    def walk(resources: Any) -> None:
        nonlocal images
        if resources is None:
            return
        for font in (resources.get("/Font") or {}).values():
            fonts.add(str(font.get("/BaseFont", "?")).split("+")[-1])
        for xobject in (resources.get("/XObject") or {}).values():
            key = xobject.objgen
            if key in seen:
                continue
            seen.add(key)
            if xobject.get("/Subtype") == "/Image":
                images += 1
            else:
                walk(xobject.get("/Resources"))

    with pikepdf.open(io.BytesIO(pdf)) as document:
        pages = len(document.pages)
        for page in document.pages:
            walk(page.obj.get("/Resources"))
            for annot in page.obj.get("/Annots") or []:
                action = annot.get("/A")
                if action is not None and "/URI" in action:
                    links.append(str(action["/URI"]))
    # WeasyPrint writes one link annotation per inline box ("Tél." and the number):
    # compare the targets, not the count of rectangles.
    return {"pages": pages, "fonts": fonts, "images": images, "links": sorted(set(links))}


def check_equivalent(campaign: Campaign, pdfs: dict[str, bytes]) -> list[str]:
    """What differs from the expected content in each PDF, and between them; [] if none."""
    from flyer.check import check_pdf

    problems = []
    contacts = campaign.contacts.contacts
    expected_qr = sorted(mailto_uri(c.email) for c in contacts if c.email)
    facts = {}
    for label, pdf in pdfs.items():
        pages = _text(pdf)
        flat = _flat(" ".join(pages))
        facts[label] = _pdf_facts(pdf)
        if facts[label]["pages"] != 2:
            problems.append(f"{label}: {facts[label]['pages']} pages, not 2")
        for contact in contacts:
            for value in (contact.name, contact.phone.text, contact.email or ""):
                if _flat(value) not in flat:
                    problems.append(f"{label}: {value!r} not in the text")
        decoded = sorted(_decoded(pdf))
        if decoded != expected_qr:
            problems.append(f"{label}: QR codes read {decoded}, expected {expected_qr}")
        if facts[label]["images"]:
            problems.append(f"{label}: {facts[label]['images']} raster image(s)")
        # "AtkinsonHyperlegibleNext-Bold" (Typst) or "Atkinson-Hyperlegible-Next-Bold".
        if not all(f.replace("-", "").startswith("AtkinsonHyperlegibleNext")
                   for f in facts[label]["fonts"]):
            problems.append(f"{label}: fonts {sorted(facts[label]['fonts'])}")
        problems += [f"{label}: flyer check «{r.label}»: {r.found} (expected {r.expected})"
                     for r in check_pdf(pdf, label, "office") if not r.ok]
    flyer_words, typst_words = (_words(_text(pdfs[k])) for k in ("flyer", "typst"))
    if flyer_words != typst_words:
        problems.append(f"words only in flyer's: {dict(flyer_words - typst_words)}; "
                        f"only in Typst's: {dict(typst_words - flyer_words)}")
    if facts["flyer"]["links"] != facts["typst"]["links"]:
        problems.append(f"links differ: {facts['flyer']['links']} / {facts['typst']['links']}")
    return problems


def keep(folder: Path, pdfs: dict[str, bytes], dpi: int = 100) -> None:
    """Both PDFs, each page as PNG, and each page pair side by side (flyer left)."""
    import pypdfium2 as pdfium
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    renders: dict[str, list[Image.Image]] = {}
    for label, pdf in pdfs.items():
        (folder / f"{label}-leaflet.pdf").write_bytes(pdf)
        document = pdfium.PdfDocument(pdf)
        renders[label] = [page.render(scale=dpi / 72).to_pil() for page in document]
        document.close()
        for index, image in enumerate(renders[label], start=1):
            image.save(folder / f"{label}-page{index}.png")
    for index, (left, right) in enumerate(zip(renders["flyer"], renders["typst"],
                                              strict=False), start=1):
        both = Image.new("RGB", (left.width + right.width + 20, max(left.height, right.height)),
                         "#808080")
        both.paste(left, (0, 0))
        both.paste(right, (left.width + 20, 0))
        both.save(folder / f"side-by-side-page{index}.png")


# Timing ---------------------------------------------------------------------------------
def interleaved(tasks: dict[str, Callable[[int], bytes]], runs: int
                ) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU seconds (all threads of this process) per call of each task, one
    call of each per round; round 0 is the warm-up and is not kept."""
    times: dict[str, tuple[list[float], list[float]]] = {t: ([], []) for t in tasks}
    for run in range(runs + 1):
        for label, task in tasks.items():
            start, cpu = time.perf_counter(), time.process_time()
            task(run)
            if run:
                times[label][0].append(time.perf_counter() - start)
                times[label][1].append(time.process_time() - cpu)
    return times


def machine_line(runs: int) -> str:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}"
                         for name in ("flyer", "weasyprint", "typst", "qrcode"))
    return (f"machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
            f"Python {platform.python_version()}, {versions}, "
            f"hb-subset {'yes' if has_fast_subsetting() else 'no'}, "
            f"load {os.getloadavg()[0]:.2f}, {runs} runs")


def line(label: str, wall: list[float], cpu: list[float]) -> str:
    return (f"{label:<30} min {min(wall) * 1000:6.1f} ms   "
            f"median {statistics.median(wall) * 1000:6.1f} ms   "
            f"(CPU median {statistics.median(cpu) * 1000:6.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="write both PDFs and PNG renders here")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    campaign = load_campaign(DATA, [LANG])
    typst_leaflet = TypstLeaflet()
    pdfs = {"flyer": flyer_leaflet_once(campaign), "typst": typst_leaflet.once(campaign)}
    if args.keep:
        keep(args.keep, pdfs)
    renderer = _flyer_tools()[2]
    problems = [f"flyer: {m}" for _, m in renderer.warnings]
    problems += [f"flyer: {name} fell back to the system font {family}"
                 for name, family in renderer.fallbacks]
    problems += [f"typst: {m}" for m in typst_leaflet.warnings(campaign)]
    problems += check_equivalent(campaign, pdfs)
    if problems:
        print("The two leaflets are not equivalent; no timing:", *problems, sep="\n  ")
        sys.exit(1)
    codes = sum(1 for c in campaign.contacts.contacts if c.email)
    print(machine_line(args.runs))
    print(f"equivalence: 2 pages each, same words and link targets, every name, phone and "
          f"address, {codes} vector QR codes decoded at 150 dpi, flyer's preflight passed; "
          f"PDF sizes {len(pdfs['flyer']) // 1024} KiB (flyer), "
          f"{len(pdfs['typst']) // 1024} KiB (typst)")
    times = interleaved({
        "flyer leaflet (warm)": lambda run: flyer_leaflet_once(campaign),
        "typst leaflet (warm)": lambda run: typst_leaflet.once(campaign),
        "typst leaflet (fresh layout)": lambda run: typst_leaflet.once(campaign, nudge=run),
    }, args.runs)
    for label, (wall, cpu) in times.items():
        print(line(label, wall, cpu))
    flyer_median = statistics.median(times["flyer leaflet (warm)"][0])
    for label, qualifier in (("typst leaflet (warm)", ""),
                             ("typst leaflet (fresh layout)", ", fresh layout")):
        ratio = flyer_median / statistics.median(times[label][0])
        print(f"ratio flyer/typst (median{qualifier}): {ratio:.1f}×")


if __name__ == "__main__":
    main()
