"""The document and profile registries: a document is added or removed by an edit of
layouts/documents.yaml alone, and a mistake there is said at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flyer.build import BuildOptions, build, plan
from flyer.documents import load_registry
from flyer.errors import FlyerError

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
A6_ENTRY = """
card-a6:
  label: {fr: Carte de poche, nl: Zakkaart}
  template: card-a6.html
  stylesheets: [base.css, card-a6.css]
  paper: A6
  pages: 2
  text_min_pt: 10
  fit: [compact]
  profiles: [office, press]
"""


def _registry(layouts: Path) -> Path:
    return layouts / "documents.yaml"


def test_an_a6_card_is_one_entry_a_template_and_a_stylesheet(
        layouts_copy: Path, tmp_path: Path) -> None:
    """The worked example of layouts/README.md, as a person would follow it."""
    for name in ("card-a6.html", "card-a6.css"):
        shutil.copy(ROOT / "layouts" / "examples" / name, layouts_copy / name)
    registry = _registry(layouts_copy)
    registry.write_text(registry.read_text(encoding="utf-8") + A6_ENTRY, encoding="utf-8")
    out = tmp_path / "out"
    result = build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out,
                                langs=("fr",), profiles=("office", "press"), check=True))
    card = out / "card-a6-fr.pdf"
    assert pdfread.page_sizes_mm(card) == [(105, 148), (105, 148)]
    assert pdfread.page_sizes_mm(out / "press" / "card-a6-fr.pdf") == [(105, 148)] * 2
    text = pdfread.squash(pdfread.text(card))
    for contact in _contacts():
        assert pdfread.squash(contact) in text, contact
    # Not bundled (no `bundle: true`): the merged file keeps its three documents.
    assert [title for title, _ in pdfread.bookmarks(out / "flyer-fr.pdf")] == [
        "Dépliant pour les parents", "Lettre aux parents", "Affiche"]
    assert any(c.file == str(card) and c.label == "Nombre de pages" and c.ok
               for c in result.checks)


def _contacts() -> list[str]:
    from flyer.load import load_contacts

    contacts = load_contacts(ROOT / "data")[0].contacts
    return [c.name for c in contacts] + [c.phone.text for c in contacts]


def test_deleting_an_entry_stops_that_document(layouts_copy: Path, tmp_path: Path) -> None:
    """And the poster an earlier build wrote goes: its data may be stale."""
    out = tmp_path / "out"
    build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out, langs=("fr",)))
    assert (out / "poster-fr.pdf").is_file()
    registry = _registry(layouts_copy)
    text = registry.read_text(encoding="utf-8")
    start = text.index("\nposter:")
    end = text.index("\nleaflet-a5:")
    registry.write_text(text[:start] + text[end:], encoding="utf-8")
    result = build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out,
                                langs=("fr",)))
    assert result.removed == [out / "poster-fr.pdf"]
    assert not list(out.glob("poster-*.pdf"))
    assert [title for title, _ in pdfread.bookmarks(out / "flyer-fr.pdf")] == [
        "Dépliant pour les parents", "Lettre aux parents"]


def test_a_label_falls_back_to_the_documents_name(layouts_copy: Path) -> None:
    registry = _registry(layouts_copy)
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        "  label: {fr: Affiche, nl: Affiche}\n", ""), encoding="utf-8")
    assert load_registry(layouts_copy).documents["poster"].label_for("fr") == "poster"


@pytest.mark.parametrize(("change", "message"), [
    (("  pages: 1\n", "  pages: 1\n  colour: blue\n"), "clé inconnue « colour »"),
    (("template: poster.html", "template: affiche.html"), "« affiche.html » introuvable"),
    (("paper: A3", "paper: B4"), "paper"),
    (("profiles: [office, press, web]\n\nleaflet-a5",
      "profiles: [office, imprimeur]\n\nleaflet-a5"), "profil « imprimeur » inconnu"),
])
def test_a_mistake_in_the_registry_is_said_at_its_line(
        layouts_copy: Path, tmp_path: Path, change: tuple[str, str], message: str) -> None:
    registry = _registry(layouts_copy)
    text = registry.read_text(encoding="utf-8")
    assert change[0] in text
    registry.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=tmp_path / "out"))
    said = "\n".join(str(p) for p in caught.value.problems)
    assert message in said and "documents.yaml" in said
    assert not (tmp_path / "out").exists()


def test_two_documents_writing_one_file_are_refused_before_anything_renders(
        layouts_copy: Path, tmp_path: Path) -> None:
    """A document named "flyer" would overwrite the merged file flyer-fr.pdf."""
    registry = _registry(layouts_copy)
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text + "\nflyer:\n" + text.split("poster:\n")[1].split("\n\n")[0]
                        + "\n", encoding="utf-8")
    with pytest.raises(FlyerError, match=r"flyer-fr\.pdf"):
        plan(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=tmp_path / "out"))


def test_profiles_are_data_too(layouts_copy: Path, tmp_path: Path) -> None:
    """A profile for a print shop that wants 5 mm of bleed: profiles.yaml alone."""
    profiles = layouts_copy / "profiles.yaml"
    press = profiles.read_text(encoding="utf-8").split("press:\n")[1].split("\n\n")[0]
    profiles.write_text(profiles.read_text(encoding="utf-8") + "\nshop:\n"
                        + press.replace("bleed_mm: 3", "bleed_mm: 5").replace(
                            "folder: press", "folder: shop") + "\n", encoding="utf-8")
    registry = _registry(layouts_copy)
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        "profiles: [office, press, web]", "profiles: [office, press, web, shop]"),
        encoding="utf-8")
    out = tmp_path / "out"
    result = build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out,
                                langs=("fr",), profiles=("shop",)))
    bleed = next(c for c in result.checks
                 if c.file.endswith("shop/poster-fr.pdf") and c.label.startswith("Fond perdu"))
    assert bleed.ok and bleed.found.startswith("5.0 mm")


def test_a_build_of_some_documents_leaves_the_others_alone(tmp_path: Path) -> None:
    """A preview builds the leaflet only: the letter and poster written before stay."""
    out = tmp_path / "out"
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out, langs=("fr",)))
    before = sorted(p.name for p in out.glob("*.pdf"))
    result = build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                                langs=("fr",), documents=("leaflet",)))
    assert [w.path.name for w in result.written] == ["leaflet-fr.pdf"]  # no partial bundle
    assert not result.removed
    assert sorted(p.name for p in out.glob("*.pdf")) == before
    with pytest.raises(FlyerError, match="document « tract » inconnu"):
        plan(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                          documents=("tract",)))
