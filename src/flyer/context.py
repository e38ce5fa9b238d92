"""Model → the plain dict each template needs, per document and language.

Templates receive only strings, numbers, lists and dicts: the Markdown is already
HTML (raw HTML off, images off), the QR codes are `data:` URIs, the links are URIs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from flyer.model import Campaign, Contact, School
from flyer.qr import QUIET_ZONE, mailto_uri, qr_data_uri, qr_modules, qr_png_data_uri
from flyer.templates import fill

DOCUMENTS = ("leaflet", "letter", "poster")

# Smallest printed QR symbol (without its quiet zone), per document: PRINT-NOTES.md.
MIN_QR_SYMBOL_MM = {"leaflet": 20.0, "leaflet-a5": 20.0, "letter": 20.0, "poster": 30.0}

# French typography: a no-break space keeps « ? : ; ! » with the word before them.
_FRENCH_SPACE = re.compile(r" ([?:;!»])")
_FRENCH_SPACE_AFTER = re.compile(r"(«) ")
NBSP = "\u00a0"


@dataclass(frozen=True)
class Style:
    """Per-profile choices that reach the templates (colour of the QR modules, etc.)."""

    qr_color: str = "#000"
    qr_background: str = "#fff"
    profile: str = "office"  # office, press or web: the web layout puts contacts in a table
    # Extra stylesheets (layouts/…), linked after the document's own so they override it.
    stylesheets: tuple[str, ...] = ()
    # Batches draw QR codes as 1-bit PNGs: ~10x cheaper to paint than SVG paths, and
    # deduplicated in a merged file. Black only, so not for a CMYK press file.
    qr_raster: bool = False


def typeset(text: str, lang: str) -> str:
    """Typographic spaces for `lang`, without changing a word."""
    if lang == "fr":
        text = _FRENCH_SPACE.sub(NBSP + r"\1", text)
        text = _FRENCH_SPACE_AFTER.sub(r"\1" + NBSP, text)
    return text


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


def qr_size_mm(payloads: list[str], document: str) -> float:
    """One printed size for every code of a document, so the smallest symbol is big enough."""
    if not payloads:
        return 0.0
    ratios = [(qr_modules(p) + 2 * QUIET_ZONE) / qr_modules(p) for p in payloads]
    return math.ceil(MIN_QR_SYMBOL_MM[document] * max(ratios) * 10) / 10


def contact_context(contact: Contact, lang: str, strings: dict[str, str], style: Style,
                    highlight: bool = False) -> dict[str, Any]:
    email = contact.email
    mailto = mailto_uri(email) if email else None
    return {
        "name": contact.name,
        "description": typeset(contact.describe(lang), lang),
        "phone": contact.phone.text,
        "phone_uri": contact.phone.uri,
        "email": email,
        "mailto": mailto,
        "qr_payload": mailto,
        "qr_src": _qr_src(mailto, style) if mailto else None,
        "qr_alt": fill(strings["qr_alt"], {"email": email}, key="qr_alt") if email else None,
        "highlight": highlight,
    }


def _qr_src(payload: str, style: Style) -> str:
    if style.qr_raster:
        return qr_png_data_uri(payload)
    return qr_data_uri(payload, style.qr_color, style.qr_background)


def school_context(school: School, lang: str, strings: dict[str, str],
                   style: Style | None = None) -> dict[str, Any]:
    """A school's block on its leaflet: its name and its own contact person.

    The contact person's address gets its QR code like every address on paper.
    """
    style = style or Style()
    mailto = mailto_uri(school.email) if school.email else None
    return {
        "name": typeset(school.school, lang),
        "contact": typeset(school.contact, lang) if school.contact else None,
        "phone": school.phone.text if school.phone else None,
        "phone_uri": school.phone.uri if school.phone else None,
        "email": school.email,
        "mailto": mailto,
        "qr_payload": mailto,
        "qr_src": _qr_src(mailto, style) if mailto else None,
        "qr_alt": (fill(strings["qr_alt"], {"email": school.email}, key="qr_alt")
                   if school.email else None),
    }


def make_context(
    campaign: Campaign,
    lang: str,
    document: str,
    strings: dict[str, str],
    style: Style | None = None,
    highlight: str | None = None,
    school: dict[str, Any] | None = None,
    sections: tuple[str, ...] = ("recto", "verso"),
    compact: bool = False,
    school_slot: bool = False,
) -> dict[str, Any]:
    """Everything `layouts/<document>.html` may use, for one language."""
    style = style or Style()
    letter = campaign.letters[lang]
    contacts = [
        contact_context(c, lang, strings, style, highlight=(c.name == highlight))
        for c in campaign.contacts.contacts
    ]
    # The reader's own contact goes first, highlighted.
    contacts.sort(key=lambda c: not c["highlight"])
    payloads = [c["qr_payload"] for c in contacts if c["qr_payload"]]
    if school and school.get("qr_payload"):
        payloads.append(school["qr_payload"])
    updated = campaign.contacts.updated
    return {
        "lang": lang,
        "document": document,
        "profile": style.profile,
        "stylesheets": list(style.stylesheets),
        "t": strings,
        "letter": {
            "title": typeset(letter.title, lang),
            "headline": typeset(letter.headline, lang),
            "call_to_action": typeset(letter.call_to_action, lang),
            "body_html": markdown_to_html(letter.body, lang),
        },
        "contacts": contacts,
        "highlight": next((c for c in contacts if c["highlight"]), None),
        "qr_size_mm": qr_size_mm(payloads, document),
        # A school's own block (--schools): name, contact person, phone, email.
        "school": school,
        # Which pages a two-sided layout renders: a batch lays out the shared verso once.
        "sections": sections,
        # Tighter spacing, for a recto that does not fit (long translation + school block).
        "compact": compact,
        # The recto leaves room at the bottom for a school block drawn over it (batch.py).
        "school_slot": school_slot,
        "updated": updated.isoformat(),
        "updated_text": fill(strings["updated"], {"date": f"{updated:%d/%m/%Y}"}, key="updated"),
    }
