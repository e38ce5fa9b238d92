"""Model → the plain dict each template needs, per document and language.

Templates receive only strings, numbers, lists and dicts: the Markdown is already
HTML (raw HTML off, images off), the QR codes are `flyer-qr:` URLs (flyer.qr), the
links are URIs.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from flyer.model import Campaign, Contact, School
from flyer.qr import QUIET_ZONE, mailto_uri, qr_modules, qr_url
from flyer.templates import fill

if TYPE_CHECKING:
    import datetime as dt

    from flyer.documents import DocumentSpec, ProfileSpec

# French typography: a no-break space keeps « ? : ; ! » with the word before them.
_FRENCH_SPACE = re.compile(r" ([?:;!»])")
_FRENCH_SPACE_AFTER = re.compile(r"(«) ")
# …and a title with the name after it: « M. Dupont », « Mme Dupont ».
_TITLE_SPACE = re.compile(r"\b(M\.|Mme|Mlle|Dr|Me|Pr|Mr\.|Mevr\.|Dhr\.) ")
NBSP = "\u00a0"


def typeset(text: str, lang: str) -> str:
    """Typographic spaces for `lang`, without changing a word."""
    if lang == "fr":
        text = _FRENCH_SPACE.sub(NBSP + r"\1", text)
        text = _FRENCH_SPACE_AFTER.sub(r"\1" + NBSP, text)
    return _TITLE_SPACE.sub(r"\1" + NBSP, text)


def markdown_to_html(source: str, lang: str) -> Markup:
    """CommonMark with raw HTML and images disabled: typed tags print as text."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_inline", "html_block"])
    tokens = md.parse(source)
    for token in tokens:
        for child in token.children or ():
            if child.type == "text":
                child.content = typeset(child.content, lang)
    return Markup(md.renderer.render(tokens, md.options, {}))


def qr_size_mm(payloads: list[str], min_symbol_mm: float) -> float:
    """One printed size for every code of a document (quiet zone included), so that the
    smallest symbol is at least `min_symbol_mm`."""
    if not payloads:
        return 0.0
    ratios = [(qr_modules(p) + 2 * QUIET_ZONE) / qr_modules(p) for p in payloads]
    return math.ceil(min_symbol_mm * max(ratios) * 10) / 10


def quiet_zone_mm(payload: str | None, size_mm: float) -> float:
    """The width of the white margin around a code printed `size_mm` wide (quiet zone
    included): a layout that aligns the code's dark modules with an edge needs it, and
    it differs between codes of one size (a shorter address has fewer, larger modules)."""
    if not payload:
        return 0.0
    return round(size_mm * QUIET_ZONE / (qr_modules(payload) + 2 * QUIET_ZONE), 2)


def contact_context(contact: Contact, lang: str, strings: dict[str, str],
                    highlight: bool = False) -> dict[str, Any]:
    """One service as every layout shows it: a card, a table row, the reader's contact."""
    email = contact.email
    mailto = mailto_uri(email) if email else None
    description_lang = contact.description_lang(lang)
    # Every plain text field of the model reaches the templates as typed (typeset), so a
    # field added to `Contact` needs no change here; the ones below are worked out.
    plain = {name: typeset(value, lang) for name, value in contact if isinstance(value, str)}
    return {
        **plain,
        "description": typeset(contact.describe(lang), description_lang or lang),
        # The language of the description when it is not the document's: a Dutch edition
        # falls back to the French text, which must be hyphenated and read aloud as French.
        "description_lang": description_lang if description_lang not in (None, lang) else None,
        "phone": contact.phone.text,
        "phone_uri": contact.phone.uri,
        "email": email,
        "mailto": mailto,
        "qr_payload": mailto,
        "qr_src": qr_url(mailto) if mailto else None,
        "qr_alt": fill(strings["qr_alt"], {"email": email}, key="qr_alt") if email else None,
        "highlight": highlight,
    }


def school_context(school: School, lang: str, strings: dict[str, str]) -> dict[str, Any]:
    """A school's block on its leaflet: its name and its own contact person.

    The contact person's address gets its QR code like every address on paper.
    """
    mailto = mailto_uri(school.email) if school.email else None
    return {
        "name": typeset(school.school, lang),
        "contact": typeset(school.contact, lang) if school.contact else None,
        "phone": school.phone.text if school.phone else None,
        "phone_uri": school.phone.uri if school.phone else None,
        "email": school.email,
        "mailto": mailto,
        "qr_payload": mailto,
        "qr_src": qr_url(mailto) if mailto else None,
        "qr_alt": (fill(strings["qr_alt"], {"email": school.email}, key="qr_alt")
                   if school.email else None),
    }


def fit_step(fit: tuple[str, ...]) -> dict[str, Any]:
    """What a context says of the fit step: the same document at another step is the same
    context with these keys replaced."""
    return {
        # The fit step's classes on <html>: empty, then e.g. ("compact",), ("compact", "small").
        "fit": list(fit),
        "compact": "compact" in fit,
    }


def make_context(
    campaign: Campaign,
    lang: str,
    document: DocumentSpec,
    strings: dict[str, str],
    profile: ProfileSpec | None = None,
    *,
    highlight: str | None = None,
    person: str | None = None,
    date: dt.date | None = None,
    school: dict[str, Any] | None = None,
    sections: tuple[str, ...] = ("recto", "verso"),
    fit: tuple[str, ...] = (),
    school_slot: bool = False,
    stylesheets: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Everything a layout template may use, for one document in one language."""
    letter = campaign.letters[lang]
    contacts = [contact_context(c, lang, strings, highlight=(c.name == highlight))
                for c in campaign.contacts.contacts]
    # The reader's own contact goes first, highlighted.
    contacts.sort(key=lambda c: not c["highlight"])
    payloads = [c["qr_payload"] for c in contacts if c["qr_payload"]]
    if school and school.get("qr_payload"):
        payloads.append(school["qr_payload"])
    size = qr_size_mm(payloads, document.qr_min_mm)
    for c in contacts:
        c["qr_quiet_mm"] = quiet_zone_mm(c["qr_payload"], size)
    if school:
        school = {**school, "qr_quiet_mm": quiet_zone_mm(school.get("qr_payload"), size)}
    updated = campaign.contacts.updated
    chosen = next((c for c in contacts if c["highlight"]), None)
    return {
        "lang": lang,
        "document": document.name,
        "profile": profile.name if profile is not None else "office",
        # How the services are shown: "cards" (print) or "table" (an accessible PDF).
        "contacts_as": profile.contacts if profile is not None else "cards",
        "stylesheets": list(stylesheets),
        "t": strings,
        "letter": {
            "title": typeset(letter.title, lang),
            "headline": typeset(letter.headline, lang),
            "call_to_action": typeset(letter.call_to_action, lang),
            "body_html": markdown_to_html(letter.body, lang),
        },
        "contacts": contacts,
        "highlight": chosen,
        # The hand-out letter's box: the service, the person and the date, or blank lines.
        "sender": {
            "service": chosen["name"] if chosen else None,
            "person": typeset(person, lang) if person else None,
            "date": f"{date:%d/%m/%Y}" if date else None,
        },
        "qr_size_mm": size,
        # A school's own block (--schools): name, contact person, phone, email.
        "school": school,
        # Which pages a two-sided layout renders: a batch lays out the shared verso once.
        "sections": sections,
        **fit_step(fit),
        # The recto leaves room at the bottom for a school block drawn over it.
        "school_slot": school_slot,
        "updated": updated.isoformat(),
        "updated_text": fill(strings["updated"], {"date": f"{updated:%d/%m/%Y}"}, key="updated"),
    }
