"""What the pages say: the four audiences, the names of the documents, the cards.

Plain data for the templates, made from a build's `Outcome`; no request, no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flyer.web.jobs import FileEntry, Outcome, Progress, Spec

LANGUAGES = {"fr": "Français", "nl": "Nederlands", "de": "Deutsch", "en": "English"}
# The same languages named in a French sentence (« le fichier en néerlandais »).
IN_A_SENTENCE = {"fr": "français", "nl": "néerlandais", "de": "allemand", "en": "anglais"}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


@dataclass(frozen=True)
class Document:
    label: str
    detail: str


DOCUMENTS = {
    "leaflet-a5-2up": Document(
        "Dépliant A5, deux par feuille",
        "Feuille A4 couchée. Imprimez en recto-verso « retourner sur le bord court », à taille "
        "réelle (100 %), puis coupez la pile en deux au milieu."),
    "leaflet-a5": Document("Dépliant A5", "Recto-verso, une feuille A5 par dépliant."),
    "leaflet": Document("Dépliant A4", "Recto-verso : la lettre au recto, les services au verso."),
    "letter": Document("Lettre aux parents",
                       "A4 recto-verso, en noir et gris : elle se photocopie bien."),
    "poster": Document("Affiche A3", "Le message en grand, lisible à deux mètres."),
    "flyer": Document("Dossier complet", "Tous les documents à la suite dans un seul "
                      "fichier, un signet par document."),
    "schools": Document("Toutes les écoles", "Un dépliant par école, dans l'ordre de la liste."),
}


@dataclass(frozen=True)
class Audience:
    slug: str  # in the URLs: /telecharger/<slug>/…
    title: str
    lead: str
    profile: str
    order: tuple[str, ...]
    advice: str
    checked: str  # the document whose QR read-back the card sums up
    automatic: bool = False  # built as soon as the page is shown (else on request)


AUDIENCES = {
    "ecole": Audience(
        "ecole", "Pour l'école", "Pour l'imprimante du bureau : le dépliant A5, deux par feuille.",
        "office", ("leaflet-a5-2up", "leaflet-a5", "leaflet", "letter", "poster", "flyer"),
        "Couleurs d'écran, sans fond perdu : pour l'imprimante ou la photocopieuse de l'école.",
        "leaflet-a5", automatic=True),
    "cpms": Audience(
        "cpms", "Pour les CPMS", "La lettre à remettre à un parent, avec votre centre, "
        "votre nom et la date.", "office", ("letter", "leaflet", "leaflet-a5-2up", "leaflet-a5",
                                           "poster", "flyer"),
        "La lettre est en noir et gris : elle s'imprime et se photocopie bien.", "letter"),
    "imprimeur": Audience(
        "imprimeur", "Pour l'imprimeur", "Les fichiers à envoyer tels quels à l'imprimerie.",
        "press", ("poster", "leaflet", "letter", "flyer"),
        "Format PDF/X-4 (le format que les imprimeurs demandent) : couleurs d'imprimerie "
        "(CMJN), fond perdu de 3 mm et traits de coupe. Envoyez le fichier ZIP, et demandez "
        "une épreuve avant le tirage.", "leaflet"),
    "web": Audience(
        "web", "Pour le site web", "Les versions accessibles à publier sur le site.",
        "web", ("leaflet", "letter", "poster", "flyer"),
        "Format PDF/UA : lisible par les lecteurs d'écran (langue, titres, textes des codes "
        "QR, signets). C'est ce que demande un audit d'accessibilité.", "leaflet"),
}


def audience_spec(audience: Audience, data: Path, layouts: Path) -> Spec:
    """The build behind an audience's card: every language, its profile, preflight on."""
    return Spec(data=data, layouts=layouts, profiles=(audience.profile,), check=True)


def language_name(lang: str) -> str:
    """The language as its speakers write it, for a choice of languages."""
    return LANGUAGES.get(lang, lang)


def language_in_sentence(lang: str) -> str:
    """The language as a French sentence names it."""
    return IN_A_SENTENCE.get(lang, lang)


def french_date(value: dt.date) -> str:
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} Ko"
    return f"{size / 1024 / 1024:.1f} Mo".replace(".", ",")


# An attachment grows by a third in a message (base64): past this, many mail services
# refuse it (Outlook.com at 20 MB, Gmail at 25 MB, message included).
MAIL_LIMIT = 15 * 1024 * 1024


def pages_text(pages: int) -> str:
    return f"{pages} page" + ("s" if pages > 1 else "")


def qr_text(entry: FileEntry) -> str | None:
    if entry.qr_total is None:
        return None
    return f"{entry.qr_read} codes QR relus sur {entry.qr_total}"


@dataclass
class FileRow:
    entry: FileEntry
    label: str
    detail: str
    url: str
    preview: bool  # thumbnails of its pages (not for the bundle of the others)


@dataclass
class LanguageGroup:
    lang: str
    name: str
    rows: list[FileRow]


@dataclass
class Card:
    audience: Audience
    # ready, failed, pending; empty (the CPMS card before its form is filled), idle (not
    # asked for yet)
    state: str
    groups: list[LanguageGroup] = field(default_factory=list)
    zip_url: str | None = None
    zip_size: int = 0  # the files it holds (PDFs hardly compress: about the ZIP's size)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_total: int = 0
    qr_summary: str | None = None
    progress: Progress | None = None
    query: str = ""  # the CPMS card's parameters, repeated in its URLs


def make_card(audience: Audience, outcome: Outcome | None, progress: Progress | None,
              base_url: str, query: str = "") -> Card:
    """The card of `audience` for a build: files by language, checks, or why not."""
    card = Card(audience, "pending", progress=progress, query=query)
    if outcome is None:
        return card
    if not outcome.ok:
        card.state, card.problems = "failed", outcome.problems
        return card
    card.state = "ready"
    card.warnings = [readable(w) for w in outcome.warnings]
    rank = {document: index for index, document in enumerate(audience.order)}
    files = sorted((f for f in outcome.files if f.school is None),
                   key=lambda f: (rank.get(f.document, 99), f.name))
    langs = sorted({f.lang for f in files}, key=lambda lang: (lang != "fr", lang))
    for lang in langs:
        rows = [FileRow(f, DOCUMENTS.get(f.document, Document(f.name, "")).label,
                        DOCUMENTS.get(f.document, Document(f.name, "")).detail,
                        f"{base_url}/{f.name}{query}", f.document != "flyer")
                for f in files if f.lang == lang]
        card.groups.append(LanguageGroup(lang, language_name(lang), rows))
    card.zip_url = f"{base_url}/{zip_name(audience)}{query}"
    card.zip_size = sum(f.size for f in files)
    card.checks_total = sum(len(f.checks) for f in files)
    card.checks_passed = sum(ok for f in files for _, ok in f.checks)
    main = next((f for f in files if f.qr_total is not None and f.document == audience.checked),
                None)
    if main is not None:
        label = DOCUMENTS.get(main.document, Document(main.name, "")).label
        card.qr_summary = (f"{qr_text(main)} ({label[0].lower()}{label[1:]}, "
                           f"{language_in_sentence(main.lang)})")
    return card


def readable(message: str) -> str:
    """A build warning for the page: without the YAML keys it names for the terminal."""
    return re.sub(r"\s*\((?:review: \w+)\)", "", message)


def zip_name(audience: Audience) -> str:
    return f"flyer-{audience.slug}.zip"


def preview_block(outcome: Outcome | None, key: str, view: str, lang: str) -> dict[str, Any]:
    """The preview beside an editor: page images of a build, or why there are none."""
    block: dict[str, Any] = {"key": key, "view": view, "lang": lang, "images": [],
                             "problems": [], "state": "pending",
                             "poll": f"/apercu/{key}?{urlencode({'vue': view, 'langue': lang})}"}
    if outcome is None:
        return block
    if not outcome.ok:
        block.update(state="failed", problems=outcome.problems)
        return block
    block["state"] = "ready"
    wanted = PREVIEW_PAGES[view]
    for document, page, size, caption in wanted:
        entry = outcome.file(f"{document}-{lang}.pdf", "office")
        if entry is not None and page <= entry.pages:
            block["images"].append({
                "url": f"/apercu/{entry.sha256}/{page}-{size}.png", "size": size,
                "sha256": entry.sha256, "page": page,
                "caption": caption, "alt": f"Aperçu : {caption.lower()}"})
    return block


# (document, page, size, caption) shown beside each editor.
PREVIEW_PAGES = {
    "services": [("leaflet", 2, "grand", "Dépliant, verso : les services")],
    "lettre": [("letter", 1, "grand", "Lettre, page 1"),
               ("letter", 2, "petit", "Lettre, page 2"),
               ("poster", 1, "petit", "Affiche (titre et appel à agir)")],
}


@dataclass
class CpmsChoice:
    """The CPMS letter's form: service, person, date, language, and what is refused."""

    service: str = ""
    person: str = ""
    date: str = ""
    lang: str = "fr"
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        return "?" + urlencode({"service": self.service, "personne": self.person,
                                "date": self.date, "langue": self.lang})


def cpms_choice(params: Mapping[str, str], names: list[str], langs: tuple[str, ...]
                ) -> CpmsChoice:
    from flyer.model import parse_date

    choice = CpmsChoice(service=" ".join(params.get("service", "").split()),
                        person=" ".join(params.get("personne", "").split())[:200],
                        date=params.get("date", "").strip() or dt.date.today().isoformat(),
                        lang=params.get("langue", "") or langs[0])
    if choice.service and choice.service not in names:
        choice.errors["service"] = "Choisissez un service de la liste."
    if len(choice.person) > 120:
        choice.errors["person"] = "Trop long : 120 caractères au maximum."
    try:
        parse_date(choice.date)
    except ValueError as exc:
        choice.errors["date"] = str(exc)
    if choice.lang not in langs:
        choice.lang = langs[0]
    return choice


def cpms_spec(data: Path, layouts: Path, choice: CpmsChoice) -> Spec:
    """The build behind the CPMS card: that service put first, one language, preflight on."""
    from flyer.model import parse_date

    return Spec(data=data, layouts=layouts, langs=(choice.lang,), check=True,
                highlight=choice.service, person=choice.person or None,
                date=parse_date(choice.date))
