"""The document and profile registries: `layouts/documents.yaml` and `layouts/profiles.yaml`.

What a document is (template, stylesheets, paper, pages, smallest QR symbol and text, the
fit steps, whether it is bundled or imposed, the profiles it is made in) and what a
profile is (PDF variant, colour and ICC profile, bleed and marks, links, contacts as cards
or a table, which preflight checks apply) are data, validated here. The plan, the
renderer and the preflight read them from here and keep no second list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flyer.errors import FlyerError, Problem
from flyer.formats import CHECKS, PAPER_MM, TWO_UP_SHEET

DOCUMENTS_FILE = "documents.yaml"
PROFILES_FILE = "profiles.yaml"

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
LayoutFile = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./{}-]*$", max_length=120)]


class DocumentSpec(BaseModel):
    """One entry of `documents.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = "document"
    # Shown in bookmarks and messages; a text, or one per language ({fr: …, nl: …}).
    label: str | dict[str, str] | None = None
    template: LayoutFile
    stylesheets: tuple[LayoutFile, ...] = ()
    paper: Literal["A3", "A4", "A5", "A6", "A7"]
    pages: int = Field(ge=1, le=32)
    qr_min_mm: float = Field(default=20.0, ge=10, le=200)
    text_min_pt: float = Field(default=11.0, ge=6, le=72)
    # Class names tried in turn, cumulatively, when the document is longer than `pages`
    # (`compact`, then `compact small`, …); an empty list: never re-laid out.
    fit: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], ...] = ()
    bundle: bool = False
    schools: bool = False
    impose: Literal["two-up"] | None = None
    profiles: tuple[Name, ...] = ("office", "press", "web")

    @field_validator("template")
    @classmethod
    def _html(cls, value: str) -> str:
        if not value.endswith(".html"):
            raise ValueError(f"« {value} » : un modèle est un fichier .html")
        return value

    @field_validator("stylesheets")
    @classmethod
    def _css(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not name.endswith(".css"):
                raise ValueError(f"« {name} » : une feuille de style est un fichier .css")
        return value

    def label_for(self, lang: str) -> str:
        """The label in `lang`, else French, else the document's name."""
        if isinstance(self.label, str):
            return self.label
        if self.label:
            return self.label.get(lang) or self.label.get("fr") or self.name
        return self.name

    @property
    def size_mm(self) -> tuple[float, float]:
        return PAPER_MM[self.paper]

    def file_name(self, lang: str) -> str:
        return f"{self.name}-{lang}.pdf"

    def imposed_name(self, lang: str) -> str:
        return f"{self.name}-2up-{lang}.pdf"

    @property
    def sheet_paper(self) -> str | None:
        """The sheet the two-up imposition prints on (landscape), if any."""
        return TWO_UP_SHEET.get(self.paper) if self.impose == "two-up" else None


class ProfileSpec(BaseModel):
    """One entry of `profiles.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = "profile"
    label: str = ""  # French, for messages ("imprimeur")
    folder: str = Field(default="", pattern=r"^[a-z0-9-]*$")  # under --out; "" = --out itself
    pdf_variant: Literal["pdf/x-4", "pdf/ua-1", "pdf/a-2b", "pdf/a-3b"] | None = None
    colour: Literal["rgb", "cmyk"] = "rgb"
    icc: LayoutFile | None = None  # CMYK output profile, relative to layouts/
    bleed_mm: float = Field(default=0.0, ge=0, le=10)
    crop_marks: bool = False
    links: bool = True  # clickable mailto:/tel: links (PDF/X forbids them on the page)
    contacts: Literal["cards", "table"] = "cards"
    fixed_pages: bool = True  # the page count of each document is a promise (print)
    bundle: bool = True  # one merged file per language (flyer-<lang>.pdf)
    # Linked after the document's own; `{template}` is the template's name without .html.
    stylesheets: tuple[LayoutFile, ...] = ()
    checks: tuple[Literal[CHECKS], ...] = ()  # type: ignore[valid-type]

    def stylesheets_for(self, template: str) -> tuple[str, ...]:
        stem = template.removesuffix(".html")
        return tuple(name.replace("{template}", stem) for name in self.stylesheets)


@dataclass(frozen=True)
class Registry:
    """Every document and profile of a layouts folder."""

    layouts: Path
    documents: dict[str, DocumentSpec]
    profiles: dict[str, ProfileSpec]

    def document_for_file(self, file_name: str) -> tuple[DocumentSpec, str, bool] | None:
        """(document, language, imposed) of a file name flyer writes: `leaflet-a5-fr.pdf`
        is the A5 leaflet in French, `leaflet-a5-2up-fr.pdf` its two-up sheets."""
        from flyer.model import LANG_CODE

        stem = file_name.removesuffix(".pdf")
        for name in sorted(self.documents, key=len, reverse=True):
            rest = stem.removeprefix(name + "-")
            if rest == stem:
                continue
            imposed = rest.startswith("2up-")
            lang = rest.removeprefix("2up-")
            if LANG_CODE.match(lang):
                return self.documents[name], lang, imposed
        return None

    def profile(self, name: str) -> ProfileSpec:
        if name not in self.profiles:
            import difflib

            close = difflib.get_close_matches(name, list(self.profiles), n=1, cutoff=0.5)
            hint = f"vouliez-vous dire « {close[0]} » ? " if close else ""
            raise FlyerError(f"profil « {name} » inconnu ; {hint}profils possibles : "
                             f"{', '.join(self.profiles)} (ou all)")
        return self.profiles[name]


def load_registry(layouts: Path) -> Registry:
    """Both registry files of `layouts`, validated, with every mistake at its line."""
    from flyer.load import parse_yaml, read_text, validate

    problems: list[Problem] = []
    tables: dict[str, dict[str, Any]] = {}
    for file_name, model in ((DOCUMENTS_FILE, DocumentSpec), (PROFILES_FILE, ProfileSpec)):
        path = layouts / file_name
        if not path.is_file():
            problems.append(Problem(
                f"fichier introuvable : {file_name} décrit les documents et profils que flyer "
                f"produit (voir layouts/README.md)", path))
            continue
        try:
            data, lines = parse_yaml(read_text(path), path)
        except FlyerError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(data, dict) or not data:
            problems.append(Problem("le fichier doit contenir au moins une entrée "
                                    "« nom: » suivie de ses clés", path, 1))
            continue
        entries: dict[str, Any] = {}
        for name, entry in data.items():
            if not isinstance(entry, dict):
                problems.append(Problem(f"« {name} » doit être suivi de ses clés (template: …)",
                                        path, lines.get((name,))))
                continue
            # Validated one entry at a time, so each error names its entry and line.
            entry_lines = {loc[1:]: line for loc, line in lines.items()
                           if loc[:1] == (name,)}
            try:
                entries[name] = validate(model, {**entry, "name": name}, path, entry_lines)
            except FlyerError as exc:
                problems.extend(Problem(f"{name} : {p.message}" if not p.field else p.message,
                                        p.path, p.line, f"{name}, {p.field}" if p.field else None)
                                for p in exc.problems)
        tables[file_name] = entries
    if problems:
        raise FlyerError(problems=problems)
    documents: dict[str, DocumentSpec] = tables[DOCUMENTS_FILE]
    profiles: dict[str, ProfileSpec] = tables[PROFILES_FILE]
    problems.extend(_cross_check(layouts, documents, profiles))
    if problems:
        raise FlyerError(problems=problems)
    return Registry(layouts, documents, profiles)


def _cross_check(layouts: Path, documents: dict[str, DocumentSpec],
                 profiles: dict[str, ProfileSpec]) -> list[Problem]:
    """Files the entries name must exist; profiles named by documents must be defined.

    A stylesheet that is missing is refused here, before any rendering: laid out without
    it, a poster came out A4 on two pages (the paper is in the stylesheet's @page rule).
    """
    problems: list[Problem] = []
    path = layouts / DOCUMENTS_FILE
    for document in documents.values():
        for file_name in (document.template, *document.stylesheets):
            if not (layouts / file_name).is_file():
                problems.append(Problem(f"{document.name} : fichier « {file_name} » introuvable "
                                        "dans le dossier de mise en page", path))
        for wanted in document.profiles:
            if wanted not in profiles:
                problems.append(Problem(f"{document.name} : profil « {wanted} » inconnu ; "
                                        f"profils de {PROFILES_FILE} : {', '.join(profiles)}",
                                        path))
        if document.impose == "two-up" and document.sheet_paper is None:
            problems.append(Problem(f"{document.name} : pas d'imposition deux poses pour le "
                                    f"format {document.paper}", path))
    for profile in profiles.values():
        # `press-{template}.css` is optional (only some templates have one), a plain name is not.
        for name in profile.stylesheets:
            if "{template}" not in name and not (layouts / name).is_file():
                problems.append(Problem(f"{profile.name} : feuille de style « {name} » "
                                        "introuvable", layouts / PROFILES_FILE))
        if profile.colour == "cmyk" and profile.icc is None:
            problems.append(Problem(f"{profile.name} : un profil CMJN (colour: cmyk) a besoin "
                                    "d'un profil ICC (icc: icc/….icc)", layouts / PROFILES_FILE))
    return problems
