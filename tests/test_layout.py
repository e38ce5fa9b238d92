"""What a recipient notices on paper (layouts/*.html, *.css): every card alike, the codes
lined up with the boxes around them and never under text, long words and addresses kept
on the page, names not split from their title, the letter's box right filled or blank."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from flyer.build import BuildOptions, BuildResult, build
from flyer.load import load_campaign

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONTACTS = load_campaign(ROOT / "data", ["fr"]).contacts.contacts
MM = 25.4 / 72
Box = tuple[float, float, float, float]  # x0, top, x1, bottom in mm from the top left


# Reading positions back -------------------------------------------------------------------

def _pages(path: Path) -> list[tuple[float, list[tuple[str, Box]], list[Box]]]:
    """Per page: its height, every printed character with its box, and every QR code's box
    (flyer stamps each code as a square form XObject)."""
    document = pdfium.PdfDocument(path)
    pages = []
    try:
        for page in document:
            height = page.get_height() * MM
            textpage = page.get_textpage()
            chars = []
            for index in range(textpage.count_chars()):
                char = chr(pdfium_c.FPDFText_GetUnicode(textpage, index))
                if char.isspace() or char in "\u00ad\ufffe\x02\u200b":
                    continue
                x0, y0, x1, y1 = (v * MM for v in textpage.get_charbox(index))
                chars.append((char, (x0, height - y1, x1, height - y0)))
            codes = []
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_FORM], max_depth=3):
                x0, y0, x1, y1 = (v * MM for v in obj.get_bounds())
                if abs((x1 - x0) - (y1 - y0)) < 0.2 and x1 - x0 > 15:
                    codes.append((x0, height - y1, x1, height - y0))
            pages.append((height, chars, codes))
        return pages
    finally:
        document.close()


def _find(path: Path, text: str) -> list[tuple[int, Box]]:
    """Each occurrence of `text` (on one line): its page and the box of its first character."""
    document = pdfium.PdfDocument(path)
    found = []
    try:
        for number, page in enumerate(document):
            height = page.get_height() * MM
            textpage = page.get_textpage()
            searcher = textpage.search(text, match_case=True)
            while (hit := searcher.get_next()) is not None:
                x0, y0, x1, y1 = (v * MM for v in textpage.get_charbox(hit[0]))
                found.append((number, (x0, height - y1, x1, height - y0)))
        return found
    finally:
        document.close()


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in re.split(r"[\r\n]+", pdfread.text(path)) if line.strip()]


def _overlap(a: Box, code: Box, clear: float = 0.5) -> bool:
    """Whether a character's box comes within `clear` mm of a code's box (its white margin
    included): text touching that margin makes decoders see a code that is not there."""
    return (a[0] < code[2] + clear and code[0] - clear < a[2]
            and a[1] < code[3] + clear and code[1] - clear < a[3])


# Builds -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed(seed_build: tuple[Path, BuildResult]) -> Path:
    return seed_build[0]


@pytest.fixture(scope="module")
def personal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("personal")
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out, langs=("fr",),
                       highlight="La Passerelle", person="Mme Dupont",
                       date=dt.date(2026, 12, 1)))
    return out / "for" / "la-passerelle"


@pytest.fixture(scope="module")
def schools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schools")
    rows = tmp_path_factory.mktemp("rows") / "schools.csv"
    rows.write_text((ROOT / "data/examples/schools.csv").read_text(encoding="utf-8")
                    + "".join((FIXTURES / "schools_long_contact_name_and_address.csv")
                              .read_text(encoding="utf-8").splitlines(keepends=True)[1:]),
                    encoding="utf-8")
    result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                                langs=("fr",), schools=rows))
    assert result.complete, result.set_aside
    # Every school's block holds its code, the long name and address included.
    assert not [w for w in result.warnings if "pas de place" in w.message], result.warnings
    return out / "schools"


@pytest.fixture(scope="module")
def hostile_lengths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """A letter with a 500-character address and a 500-letter word; a 247-character email."""
    base = tmp_path_factory.mktemp("lengths")
    data = base / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "letter.nl.md").unlink()
    shutil.copy(FIXTURES / "letter_with_500_character_url_and_word.fr.md",
                data / "letter.fr.md")
    shutil.copy(FIXTURES / "contacts_with_247_character_email.yaml", data / "contacts.yaml")
    out = base / "out"
    return out, build(BuildOptions(data=data, layouts=ROOT / "layouts", out=out,
                                   check=True))


# Cards ------------------------------------------------------------------------------------

def _under_phone(path: Path) -> list[float]:
    """For each service with an address: how far its first line sits below its phone number,
    baseline to baseline (a glyph's box top depends on the letter; its baseline does not)."""
    gaps = []
    for contact in CONTACTS:
        if not contact.email:
            continue
        [(page, phone)] = _find(path, contact.phone.text)
        [(same, email)] = _find(path, contact.email.split("@")[0] + "@")
        assert same == page, contact.name
        gaps.append(round(email[3] - phone[3], 1))
    return gaps


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf"])
def test_the_address_sits_right_under_the_phone_on_every_card(seed: Path, name: str) -> None:
    gaps = _under_phone(seed / name)
    assert max(gaps) - min(gaps) <= 0.3, gaps
    assert max(gaps) < 10, gaps  # the next line under the phone, not at the bottom after a gap


def test_an_address_longer_than_its_line_stays_under_the_phone_too(
        hostile_lengths: tuple[Path, BuildResult]) -> None:
    """A float would push it below the code (WeasyPrint moves a line whose first word does
    not fit beside a float): the code is placed in the corner instead."""
    path = hostile_lengths[0] / "leaflet-fr.pdf"
    gaps = []
    for phone, start in (("056/39 16 20", "cpms"), ("056/86 03 09", "secretariat")):
        [(page, number)] = _find(path, phone)
        first = min((box for at, box in _find(path, start) if at == page  # same card:
                     and box[1] > number[1] and number[0] - 20 < box[0] < number[0]),
                    key=lambda box: box[1])
        gaps.append(round(first[3] - number[3], 1))
    assert gaps[0] == gaps[1], gaps


def test_on_a5_the_address_sits_under_the_code_on_every_card(seed: Path) -> None:
    """An A5 card's text column beside a 20 mm code cannot hold most addresses: every
    address goes under the code, full width, at the same distance from it."""
    path = seed / "leaflet-a5-fr.pdf"
    pages = _pages(path)
    offsets = []
    for contact in CONTACTS:
        assert contact.email is not None
        [(page, email)] = _find(path, contact.email)  # whole, on one line
        code = max((c for c in pages[page][2]
                    if email[0] - 1 < c[2] < email[0] + 68 and c[3] < email[1] + 1),
                   key=lambda c: c[3])  # the code just above, in the same card
        offsets.append(round(email[3] - code[3], 1))  # its baseline under the code
    assert max(offsets) - min(offsets) <= 0.3, offsets
    assert all(0 < offset < 6 for offset in offsets), offsets


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf", "poster-fr.pdf",
                                  "leaflet-a5-fr.pdf", "leaflet-nl.pdf", "leaflet-a5-nl.pdf"])
def test_no_text_runs_under_a_code(seed: Path, name: str) -> None:
    for number, (_, chars, codes) in enumerate(_pages(seed / name)):
        for char, box in chars:
            assert not any(_overlap(box, code) for code in codes), (number, char, box)


def test_a_personal_leaflet_keeps_the_code_clear_too(personal: Path) -> None:
    for name in ("leaflet-fr.pdf", "letter-fr.pdf", "leaflet-a5-fr.pdf", "poster-fr.pdf"):
        for _, chars, codes in _pages(personal / name):
            assert not any(_overlap(box, code) for _, box in chars for code in codes), name


def _description_tops(path: Path) -> list[tuple[str, float, float]]:
    """For each description: where its first line starts, and the bottom of the dark
    modules of the code just above it in the same card."""
    pages = _pages(path)
    found = []
    for contact in CONTACTS:
        words = " ".join(contact.describe("fr").split()[:2])
        if not words:
            continue
        for page, start in _find(path, words):
            codes = [c for c in pages[page][2] if start[0] - 1 < c[2] < start[0] + 95
                     and c[1] < start[1]]
            code = max(codes, key=lambda c: c[1])
            quiet = (code[2] - code[0]) * 4 / 33  # the widest white margin of these codes
            found.append((contact.name, start[1], code[3] - quiet))
    return found


@pytest.mark.parametrize("name", ["leaflet-fr.pdf", "letter-fr.pdf", "leaflet-a5-fr.pdf"])
def test_a_description_starts_below_the_code_never_beside_it(seed: Path, name: str) -> None:
    """A description that starts beside the code and goes on full width under it reads as
    two columns glued together ("des pé-" then the whole card)."""
    for service, top, ink_bottom in _description_tops(seed / name):
        assert top >= ink_bottom, (service, top, ink_bottom)


# Poster -----------------------------------------------------------------------------------

def test_poster_codes_end_exactly_at_the_call_to_action_box_edge(seed: Path) -> None:
    """The dark modules, not the white margin around them, line up with the tinted box."""
    dpi = 300
    document = pdfium.PdfDocument(seed / "poster-fr.pdf")
    image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    document.close()
    px = 25.4 / dpi
    width = image.size[0]
    [(_, cta)] = _find(seed / "poster-fr.pdf", "Vous n'êtes pas seul")
    row = int((cta[1] - 1.5) / px)  # in the box's top padding, above the text
    tinted = [x for x in range(width) if 225 <= image.getpixel((x, row)) <= 250]
    box_right = (max(tinted) + 1) * px
    codes = _pages(seed / "poster-fr.pdf")[0][2]
    assert len(codes) == len(CONTACTS)
    right_column = [c for c in codes if c[2] > box_right - 10]
    assert len(right_column) == len(CONTACTS) // 2
    for code in right_column:
        band = image.crop((int((box_right - 25) / px), int(code[1] / px),
                           width, int(code[3] / px)))
        dark = band.point(lambda v: 255 if v < 60 else 0).getbbox()
        assert dark is not None
        ink_right = box_right - 25 + dark[2] * px
        assert abs(ink_right - box_right) <= 0.3, (code, ink_right, box_right)


# Long words and addresses -------------------------------------------------------------------

def test_a_500_character_address_or_word_in_the_letter_stays_on_the_page(
        hostile_lengths: tuple[Path, BuildResult]) -> None:
    out, result = hostile_lengths
    written = {w.path.name for w in result.written}
    for name in ("leaflet-fr.pdf", "letter-fr.pdf"):
        assert name in written
        clearance = [c for c in result.checks
                     if Path(c.file).name == name and c.label.startswith("Texte loin de la coupe")]
        assert clearance and all(c.ok for c in clearance), clearance
        assert pdfread.chars_outside(out / name, (5, 5, 5, 5)) == [], name
        printed = pdfread.squash(pdfread.text(out / name))
        assert "Anticonstitutionnellement" * 20 in printed


def test_a_247_character_email_stays_inside_its_card_on_the_poster(
        hostile_lengths: tuple[Path, BuildResult]) -> None:
    out, result = hostile_lengths
    poster = out / "poster-fr.pdf"
    assert poster.name in {w.path.name for w in result.written}
    assert pdfread.chars_outside(poster, (5, 5, 5, 5)) == []
    email = next(line.split("email: ")[1] for line in
                 (FIXTURES / "contacts_with_247_character_email.yaml")
                 .read_text(encoding="utf-8").splitlines() if "antenne" in line)
    assert len(email) == 247
    assert pdfread.squash(email) in pdfread.squash(pdfread.text(poster))
    for _, chars, codes in _pages(poster):
        assert not any(_overlap(box, code) for _, box in chars for code in codes)
    assert f"mailto:{email}" in pdfread.link_uris(poster)


# Schools ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("folder", "person"), [
    ("lycee-invente-des-coquelicots", "M.\u00a0Fictif"),
    ("athenee-fictif-du-beau-site", "M.\u00a0Modèle"),
    ("ecole-fictive-des-tilleuls", "Mme\u00a0Exemple")])
def test_a_title_stays_with_the_name_in_the_school_block(
        schools: Path, folder: str, person: str) -> None:
    """context.typeset's no-break space after M., Mme… reaches the printed school block."""
    leaflet = schools / folder / "leaflet-fr.pdf"
    assert person in pdfread.text(leaflet)
    for line in _lines(leaflet):
        assert not re.search(r"(^|\s)(M\.|Mme|Mlle|Dr|Me)$", line), line


def test_school_leaflets_set_their_descriptions_below_the_codes_too(schools: Path) -> None:
    """School leaflets are laid out a step tighter (the slot takes the recto's foot)."""
    for leaflet in schools.rglob("leaflet-fr.pdf"):
        for service, top, ink_bottom in _description_tops(leaflet):
            assert top >= ink_bottom, (leaflet.parent.name, service)


def test_the_school_box_keeps_its_text_beside_its_code_and_the_same_size(
        schools: Path) -> None:
    tops = set()
    for leaflet in sorted(schools.rglob("leaflet-fr.pdf")):
        _, chars, codes = _pages(leaflet)[0]
        [(_, badge)] = _find(leaflet, "VOTRE ÉCOLE")
        tops.add(round(badge[1], 1))
        slot = [box for _, box in chars if box[1] >= badge[1] - 1]
        below = [c for c in codes if c[1] >= badge[1] - 5]
        for code in below:  # the code's column: no text beside it, under it or over it
            assert all(box[2] <= code[0] for box in slot), leaflet
    assert len(tops) == 1, tops  # the same place on every school's leaflet


# The hand-out letter's box ---------------------------------------------------------------

def test_the_letters_box_prints_the_service_person_and_date_on_their_lines(
        personal: Path) -> None:
    path = personal / "letter-fr.pdf"
    for label, value in (("Service", "La Passerelle"), ("Personne de contact", "Dupont"),
                         ("Date", "01/12/2026")):
        where = next(box for page, box in _find(path, label) if page == 0)
        printed = next(box for page, box in _find(path, value) if page == 0)
        assert abs(printed[3] - where[3]) < 1.0, (label, value)  # same baseline
        assert printed[0] > where[0] + 30  # in the value column, after the label


def test_the_letters_box_left_blank_has_room_to_write(seed: Path) -> None:
    path = seed / "letter-fr.pdf"
    rows = [_find(path, label)[0][1] for label in ("Service", "Personne de contact", "Date")]
    pitches = [b[3] - a[3] for a, b in itertools.pairwise(rows)]
    assert all(pitch >= 8 for pitch in pitches), pitches  # a handwritten line needs ~8 mm


# The A4 recto ----------------------------------------------------------------------------

def test_the_a4_recto_uses_its_page(seed: Path) -> None:
    """The letter is set large enough that the front is not half empty (it was 78 mm)."""
    height, chars, _ = _pages(seed / "leaflet-fr.pdf")[0]
    lowest = max(box[3] for _, box in chars)
    assert height - lowest < 50, height - lowest
