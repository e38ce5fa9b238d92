"""The Dutch edition, and a language whose texts run 30 % longer than French."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pikepdf
import pytest
import yaml

from flyer.build import BuildOptions, BuildResult, build
from flyer.load import load_campaign
from flyer.qr import mailto_uri

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {"leaflet": 150, "letter": 150, "poster": 72}  # document → QR decode dpi
MARGINS = {  # @page margins (top, right, bottom, left) in mm, from layouts/*.css
    "leaflet": (13, 14, 12, 14), "letter": (16, 18, 14, 18),
    "poster": (15, 16, 5, 16)}  # the poster's footer runs in its bottom margin
# A document laid out again with `compact` (see layouts/base.css) has narrower margins.
COMPACT_MARGINS = {**MARGINS, "leaflet": (10, 12, 9, 12), "letter": (12, 14, 10, 14)}
CAMPAIGN = load_campaign(ROOT / "data", ["fr", "nl"])
MAILTOS = sorted(mailto_uri(c.email) for c in CAMPAIGN.contacts.contacts if c.email)


@pytest.fixture(scope="module")
def out(seed_build: tuple[Path, BuildResult]) -> Path:
    return seed_build[0]


def test_every_layout_text_and_every_description_exists_in_dutch() -> None:
    fr = yaml.safe_load((ROOT / "layouts/i18n/fr.yaml").read_text(encoding="utf-8"))
    nl = yaml.safe_load((ROOT / "layouts/i18n/nl.yaml").read_text(encoding="utf-8"))
    assert set(nl) == set(fr)
    for contact in CAMPAIGN.contacts.contacts:
        assert set(contact.description) in (set(), {"fr", "nl"}), contact.name
    assert CAMPAIGN.letters["nl"].review == "pending"


def test_build_warns_that_the_dutch_translation_is_not_reviewed(
    seed_build: tuple[Path, BuildResult],
) -> None:
    assert any("« nl »" in w.message and "review: pending" in w.message
               for w in seed_build[1].warnings)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_dutch_qr_codes_and_links_read_back_like_the_french_ones(out: Path,
                                                                 document: str) -> None:
    dpi = DOCUMENTS[document]
    decoded = {lang: sorted(p for page in pdfread.qr_payloads(out / f"{document}-{lang}.pdf",
                                                              dpi) for p in page)
               for lang in ("fr", "nl")}
    assert decoded["nl"] == decoded["fr"] == MAILTOS
    links = {lang: sorted(pdfread.link_uris(out / f"{document}-{lang}.pdf"))
             for lang in ("fr", "nl")}
    assert links["nl"] == links["fr"] and links["nl"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_dutch_documents_carry_dutch_text_and_language_and_nothing_overflows(
    out: Path, document: str,
) -> None:
    path = out / f"{document}-nl.pdf"
    text = pdfread.squash(pdfread.text(path))
    letter = CAMPAIGN.letters["nl"]
    assert pdfread.squash(letter.title) in text
    if document != "poster":
        assert pdfread.squash("Hoe reageren?") in text
        for contact in CAMPAIGN.contacts.contacts:
            assert pdfread.squash(contact.describe("nl")) in text
    with pikepdf.open(path) as pdf:
        assert str(pdf.Root.Lang) == "nl"  # hyphenation and screen readers follow it
    assert pdfread.chars_outside(path, MARGINS[document]) == []


LONG_WORD = "jeugdhulpverleningsorganisatiemedewerkersopleiding"


@pytest.fixture(scope="module")
def compound_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dutch leaflet whose card text has a compound word wider than a card."""
    tmp = tmp_path_factory.mktemp("compound")
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data)
    contacts = data / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    text = text.replace("nl: kan je psychologische steun",
                        f"nl: de {LONG_WORD} kan je psychologische steun")
    contacts.write_text(text, encoding="utf-8")
    build(BuildOptions(data=data, layouts=ROOT / "layouts", out=tmp / "out", langs=("nl",)))
    return tmp / "out"


def test_dutch_compound_word_hyphenates_inside_its_card(compound_build: Path) -> None:
    path = compound_build / "leaflet-nl.pdf"
    assert LONG_WORD in pdfread.squash(pdfread.text(path))
    assert LONG_WORD not in pdfread.text(path)  # broken over lines, not in one piece
    assert pdfread.chars_outside(path, MARGINS["leaflet"]) == []


# A pseudo-language: every text 30 % longer than its French source, in words of ordinary
# length, so the layout is tested against a wordier translation (German, Dutch) to come.
FILLER = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
          "sed", "do", "eiusmod", "tempor"]


def _pad(text: str, ratio: float = 1.3) -> str:
    words, target = text.split(" "), int(len(text) * ratio)
    i = 0
    while len(" ".join(words)) < target:
        words.append(FILLER[i % len(FILLER)])
        i += 1
    return " ".join(words)


def _pad_markdown(body: str) -> str:
    lines = []
    for line in body.splitlines():
        prefix = re.match(r"^(#+ |- )?", line).group(0)  # type: ignore[union-attr]
        rest = line[len(prefix):]
        lines.append(prefix + _pad(rest) if rest.strip() else line)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def padded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult, Path]:
    tmp = tmp_path_factory.mktemp("padded")
    data, layouts = tmp / "data", tmp / "layouts"
    shutil.copytree(ROOT / "data", data)
    shutil.copytree(ROOT / "layouts", layouts)
    letter = CAMPAIGN.letters["fr"]
    front = {"title": _pad(letter.title), "headline": _pad(letter.headline),
             "call_to_action": _pad(letter.call_to_action)}
    (data / "letter.xx.md").write_text(
        "---\n" + "".join(f'{k}: "{v}"\n' for k, v in front.items()) + "---\n"
        + _pad_markdown(letter.body), encoding="utf-8")
    contacts = data / "contacts.yaml"
    lines = []
    for line in contacts.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        match = re.match(r"^(\s+)fr: (.*)$", line)
        if match:
            lines.append(f'{match.group(1)}xx: "{_pad(match.group(2))}"')
    contacts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fr = yaml.safe_load((layouts / "i18n/fr.yaml").read_text(encoding="utf-8"))
    xx = {k: _pad(v) for k, v in fr.items()}  # placeholders stay: words are only appended
    (layouts / "i18n/xx.yaml").write_text(
        "".join(f'{k}: "{v}"\n' for k, v in xx.items()), encoding="utf-8")
    schools = tmp / "schools.csv"
    schools.write_text(
        "school;service;contact;phone;email\n"
        "École fictive communale fondamentale et secondaire des Tilleuls et des Peupliers;"
        "Le pôle Psycho-social de la Police;Mme Exemple-Modèle (éducatrice référente);"
        "056/99 10 01;referente.harcelement@ecole-fictive-des-tilleuls.be\n",
        encoding="utf-8")
    out = tmp / "out"
    result = build(BuildOptions(data=data, layouts=layouts, out=out, langs=("xx",),
                                highlight="Service de Médiation Scolaire"))
    batch = build(BuildOptions(data=data, layouts=layouts, out=out, langs=("xx",),
                               schools=schools))
    assert batch.schools and batch.schools[0].built, batch.schools
    # That school's very long address leaves no room for its code in the slot: said, not hidden.
    assert any("pas de place pour le code QR" in w.message for w in batch.warnings)
    return out / "for" / "service-de-mediation-scolaire", result, out / "schools-xx.pdf"


def test_padded_language_really_prints_longer_text(
    padded: tuple[Path, BuildResult, Path], out: Path,
) -> None:
    printed = {lang: len(pdfread.squash(pdfread.text(folder / f"letter-{lang}.pdf")))
               for lang, folder in (("fr", out), ("xx", padded[0]))}
    assert printed["xx"] > 1.25 * printed["fr"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_text_30_percent_longer_keeps_pages_margins_and_every_service(
    padded: tuple[Path, BuildResult, Path], document: str,
) -> None:
    folder, result, _ = padded
    path = folder / f"{document}-xx.pdf"
    assert not [w for w in result.warnings if "ne tient pas" in w.message]
    assert len(pdfread.page_sizes_mm(path)) == (1 if document == "poster" else 2)
    assert pdfread.chars_outside(path, COMPACT_MARGINS[document]) == []
    text = pdfread.squash(pdfread.text(path))
    for contact in CAMPAIGN.contacts.contacts:
        assert pdfread.squash(contact.name) in text
    decoded = sorted(p for page in pdfread.qr_payloads(path, DOCUMENTS[document])
                     for p in page)
    # The leaflet's recto repeats the reader's own contact with its code.
    assert sorted(set(decoded)) == MAILTOS


def test_school_leaflet_with_longer_text_still_fits(
    padded: tuple[Path, BuildResult, Path],
) -> None:
    merged = padded[2]
    assert len(pdfread.page_sizes_mm(merged)) == 2
    assert pdfread.chars_outside(merged, COMPACT_MARGINS["leaflet"]) == []
    assert pdfread.squash("Mme Exemple-Modèle") in pdfread.squash(pdfread.text(merged))


def test_a_french_description_in_the_dutch_edition_is_marked_french(tmp_path: Path) -> None:
    """Hyphenated and read aloud as French ("situati-on" was Dutch rules on French text),
    and the build says which descriptions are missing in Dutch."""
    from flyer.build import BuildOptions, plan

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    contacts = data / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    dutch = "      nl: kan je psychologische steun en juridisch advies geven.\n"
    assert dutch in text
    contacts.write_text(text.replace(dutch, ""), encoding="utf-8")
    planned = plan(BuildOptions(data=data, layouts=ROOT / "layouts", out=tmp_path / "out",
                                langs=("nl",), profiles=("office", "web")))
    html = next(h for h in planned.html.values() if 'lang="nl"' in h and "card" in h)
    assert ('<p class="description" lang="fr">peut te proposer un soutien psychologique'
            in html)
    assert html.count('lang="fr"') == 1  # only the one that falls back
    said = [str(w) for w in planned.warnings]
    assert any("description en « nl » manquante pour : La Passerelle" in w for w in said)
