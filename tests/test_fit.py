"""Fitting (documents.yaml `fit:` steps, build.Workshop._fitted): every document keeps its
page count whatever the list, by laying itself out tighter step by step down to the print
minimums, and a list too long even then is refused with what to shorten, not printed on
wrong paper."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from flyer.build import BuildOptions, BuildResult, Workshop, build, plan
from flyer.check import SAFE_MM
from flyer.documents import load_registry
from flyer.fit import PX_PER_MM
from flyer.pool import Workers
from flyer.render import collect_warnings

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
SEED = yaml.safe_load((ROOT / "data" / "contacts.yaml").read_text(encoding="utf-8"))
PAGES = {"leaflet-fr.pdf": 2, "letter-fr.pdf": 2, "poster-fr.pdf": 1, "leaflet-a5-fr.pdf": 2,
         "leaflet-a5-2up-fr.pdf": 2}
# The seed's list with each service left out in turn, and its first 1, 2 and 5 services.
CASES = {**{f"without-{i + 1}": [c for j, c in enumerate(SEED["contacts"]) if j != i]
            for i in range(len(SEED["contacts"]))},
         **{f"first-{n}": SEED["contacts"][:n] for n in (1, 2, 5)}}


class _NoAlias(yaml.SafeDumper):
    """Shared description dicts written out in full: flyer refuses YAML aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _data(base: Path, contacts: list[dict[str, object]]) -> Path:
    data = base / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "contacts.yaml").write_text(
        yaml.dump({"updated": SEED["updated"], "contacts": contacts}, Dumper=_NoAlias,
                  allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def pool() -> Iterator[Workers]:
    workers = Workers(2)
    try:
        yield workers
    finally:
        workers.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, pool: Workers
           ) -> dict[str, tuple[Path, BuildResult]]:
    """One French office build per case, each code decoded by the build's own check."""
    done = {}
    with collect_warnings() as messages:
        for name, contacts in CASES.items():
            base = tmp_path_factory.mktemp(name)
            out = base / "out"
            result = build(BuildOptions(data=_data(base, contacts), layouts=ROOT / "layouts",
                                        out=out, langs=("fr",), check=True), workers=pool)
            done[name] = (out, result)
    assert not messages, messages
    return done


@pytest.mark.parametrize("case", CASES)
def test_every_document_keeps_its_pages_whatever_the_list(
        builds: dict[str, tuple[Path, BuildResult]], case: str) -> None:
    out, result = builds[case]
    assert result.complete, result.skipped
    for name, pages in PAGES.items():
        assert len(pdfread.page_sizes_mm(out / name)) == pages, name


@pytest.mark.parametrize("case", CASES)
def test_no_character_leaves_the_page_and_every_code_reads_back(
        builds: dict[str, tuple[Path, BuildResult]], case: str) -> None:
    out, result = builds[case]
    for name in PAGES:
        assert pdfread.chars_outside(out / name, (SAFE_MM,) * 4) == [], name
        mine = [c for c in result.checks if Path(c.file).name == name]
        assert all(c.ok for c in mine), [c for c in mine if not c.ok]
        # check=True: every page rendered at print resolution and every code decoded.
        assert any(c.label.startswith("Codes QR lus") for c in mine), name
    a5 = pdfread.qr_payloads(out / "leaflet-a5-fr.pdf", 150)
    expected = sorted(f"mailto:{c['email']}" for c in CASES[case] if c.get("email"))
    assert sorted(p for page in a5 for p in page) == expected


@pytest.mark.parametrize("case", [c for c in CASES if len(CASES[c]) > 2])
def test_the_date_line_and_the_last_card_are_never_alone_on_a_page(
        builds: dict[str, tuple[Path, BuildResult]], case: str) -> None:
    out, _ = builds[case]
    last_two = [c["name"] for c in CASES[case][-2:]]
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "leaflet-a5-fr.pdf"):
        pages = _pages_text(out / name)
        dated = [p for p in pages if pdfread.squash("Coordonnées vérifiées le") in p]
        assert len(dated) == 1, name
        for service in last_two:  # the last pair, and the one before it, on the date's page
            assert pdfread.squash(service) in dated[0], (name, service)


def _pages_text(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [pdfread.squash(page.get_textpage().get_text_range()) for page in document]
    finally:
        document.close()


# The steps themselves --------------------------------------------------------------------

@pytest.fixture(scope="module")
def long_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirteen services (the seed's, then its first three again under other names)."""
    extra = [{**c, "name": f"{c['name']} (antenne)"} for c in SEED["contacts"][:3]]
    return _data(tmp_path_factory.mktemp("thirteen"), SEED["contacts"] + extra)


@pytest.mark.parametrize("document", ["leaflet", "letter", "poster", "leaflet-a5"])
def test_each_fit_step_takes_less_room_and_the_last_keeps_the_print_minimum(
        long_list: Path, tmp_path: Path, document: str) -> None:
    work = plan(BuildOptions(data=long_list, layouts=ROOT / "layouts", out=tmp_path,
                             langs=("fr",))).work
    spec = work.registry.documents[document]
    profile = work.registry.profiles["office"]
    shop = Workshop(work)
    heights = []
    for n in range(len(spec.fit) + 1):
        _, laid_out = shop._render(spec, profile, "fr", spec.fit[:n])
        heights.append(_flow_height(laid_out))
    assert all(later < earlier - 5 for earlier, later in itertools.pairwise(heights)), heights
    target = tmp_path / "last.pdf"
    target.write_bytes(laid_out.write_pdf())
    assert pdfread.smallest_text_pt(target) >= spec.text_min_pt - 0.01


def _flow_height(document: object) -> float:
    """The height, in mm, of everything laid out in the pages' content areas (the poster's
    footer in its page margin left out), summed over the pages."""
    from weasyprint.formatting_structure import boxes

    total = 0.0
    for page in document.pages:  # type: ignore[attr-defined]
        page_box = page._page_box
        bottom = page_box.content_box_y()

        def walk(box: object) -> None:
            nonlocal bottom
            if isinstance(box, boxes.MarginBox):
                return
            if isinstance(box, boxes.LineBox | boxes.ReplacedBox):
                bottom = max(bottom, box.position_y + box.margin_height())
            for child in getattr(box, "children", None) or ():
                walk(child)

        walk(page_box)
        total += (bottom - page_box.content_box_y()) / PX_PER_MM
    return total


def test_the_a5_steps_are_its_own(tmp_path: Path) -> None:
    """The A4 leaflet's `compact`/`small` rules (11–13 pt) must never reach the A5."""
    registry = load_registry(ROOT / "layouts")
    a5, a4 = registry.documents["leaflet-a5"], registry.documents["leaflet"]
    assert not set(a5.fit) & set(a4.fit)


def test_a_list_too_long_for_the_a5_even_at_its_last_step_is_refused_with_its_size(
        long_list: Path, tmp_path: Path, pool: Workers) -> None:
    out = tmp_path / "out"
    result = build(BuildOptions(data=long_list, layouts=ROOT / "layouts", out=out,
                                langs=("fr",)), workers=pool)
    skipped = {path.name: why for path, why in result.skipped}
    assert set(skipped) == {"leaflet-a5-fr.pdf"}
    why = skipped["leaflet-a5-fr.pdf"]
    assert "ne tient pas sur 2 page(s)" in why and "dépasse d'environ" in why, why
    assert "raccourcissez des descriptions ou retirez un service" in why
    assert "(10 pt)" in why
    assert not (out / "leaflet-a5-fr.pdf").exists()
    assert not (out / "leaflet-a5-2up-fr.pdf").exists()
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf"):
        assert len(pdfread.page_sizes_mm(out / name)) == PAGES[name], name
    assert len(pdfread.page_sizes_mm(out / "flyer-fr.pdf")) == 5  # the A5 is not bundled
