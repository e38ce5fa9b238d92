"""The validated content: contacts, letters and the campaign that holds them.

Every value reaches the model as the string the person typed (see `load.py`); the
validators here decide what is acceptable and say, in French, what would be right.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import shortnumberinfo
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from flyer.errors import Problem

REGION = "BE"
LANG_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ./()\-\u00a0]+$")


class ItemError(ValueError):
    """A list-level problem that belongs to one item: `load.py` reports it at its line."""

    def __init__(self, message: str, index: int, same_as: int | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.same_as = same_as  # the earlier item this one repeats, if any


class Phone(BaseModel):
    """A phone number as printed, and the `tel:` URI that dials it."""

    model_config = ConfigDict(frozen=True)

    text: str
    uri: str


def parse_phone(value: object) -> Phone:
    """Accept a Belgian phone number as typed; reject anything a phone could not dial."""
    if isinstance(value, Phone):
        return value
    if not isinstance(value, str):
        raise ValueError("doit être un numéro écrit comme texte, par exemple « 056/39 16 20 »")
    text = " ".join(value.split())
    if not text:
        raise ValueError("numéro vide : écrivez le numéro, par exemple « 056/39 16 20 »")
    if not _PHONE_CHARS.match(text):
        raise ValueError(
            f"« {text} » contient des caractères qui ne sont pas des chiffres ; "
            "écrivez seulement le numéro, par exemple « 056/39 16 20 »"
        )
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        if text[0] not in "+0":
            # phonenumbers accepts a national number without its trunk 0, but printed
            # that way it cannot be dialled from a Belgian phone.
            raise ValueError(
                f"« {text} » : il manque le 0 du début ; écrivez « 0{text} »"
            )
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return Phone(text=text, uri=f"tel:{e164}")
    digits = re.sub(r"\D", "", text)
    if number is not None and shortnumberinfo.is_valid_short_number_for_region(number, REGION):
        return Phone(text=text, uri=f"tel:{digits}")
    raise ValueError(
        f"« {text} » n'est pas un numéro belge valide ({len(digits)} chiffres) ; "
        "un fixe a 9 chiffres avec le 0 (056/39 16 20), un GSM 10 (0474/81 08 91)"
    )


def parse_email(value: object) -> str:
    """Accept exactly one bare address; say what to remove otherwise."""
    if not isinstance(value, str):
        raise ValueError("doit être une adresse écrite comme texte, par exemple « nom@exemple.be »")
    text = value.strip()
    if text.lower().startswith("mailto:"):
        raise ValueError(f"retirez « mailto: » : écrivez seulement « {text[7:].strip()} »")
    if "<" in text or ">" in text or '"' in text:
        raise ValueError(
            f"« {text} » contient un nom ou des chevrons ; écrivez seulement l'adresse, "
            "par exemple « nom@exemple.be »"
        )
    if any(sep in text for sep in (",", ";")) or text.count("@") > 1:
        raise ValueError(
            f"« {text} » contient plusieurs adresses ; une seule adresse par service"
        )
    if any(ch.isspace() for ch in text):
        raise ValueError(f"« {text} » contient une espace ; une adresse n'en a jamais")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(
            f"« {text} » n'est pas une adresse de courriel valide ; "
            "il faut la forme nom@domaine.be"
        ) from None
    return result.normalized


def parse_description(value: object) -> dict[str, str]:
    """A plain string is French; a mapping gives one text per language."""
    if isinstance(value, str):
        value = {"fr": value}
    if not isinstance(value, dict):
        raise ValueError("doit être un texte, ou une liste par langue (fr: …, nl: …)")
    texts: dict[str, str] = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not LANG_CODE.match(lang):
            raise ValueError(f"« {lang} » n'est pas un code de langue (fr, nl, …)")
        if not isinstance(text, str):
            raise ValueError(f"la description « {lang} » doit être un texte")
        cleaned = " ".join(text.split())
        if cleaned:
            texts[lang] = cleaned
    return texts


def parse_date(value: object) -> dt.date:
    """ISO dates as YAML writes them, and the Belgian 13/09/2016 people type."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise ValueError(f"« {value} » n'est pas une date ; écrivez-la 2016-09-13 ou 13/09/2016")


def _clean_text(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


PhoneField = Annotated[Phone, BeforeValidator(parse_phone)]
EmailField = Annotated[str, BeforeValidator(parse_email)]
DescriptionField = Annotated[dict[str, str], BeforeValidator(parse_description)]
DateField = Annotated[dt.date, BeforeValidator(parse_date)]
Text = Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=400)]


class Contact(BaseModel):
    """One service: its name, what it offers, how to reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=120)]
    description: DescriptionField = Field(default_factory=dict)
    phone: PhoneField
    email: EmailField | None = None

    def describe(self, lang: str) -> str:
        """The description in `lang`, falling back to French, or ''."""
        return self.description.get(lang) or self.description.get("fr", "")

    def description_lang(self, lang: str) -> str | None:
        """The language of the text `describe(lang)` returns; None without a description."""
        if lang in self.description:
            return lang
        return "fr" if "fr" in self.description else None


class ContactList(BaseModel):
    """`contacts.yaml`: the services in the order they are printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    updated: DateField
    contacts: list[Contact] = Field(min_length=1)

    @field_validator("contacts")
    @classmethod
    def _names_are_unique(cls, contacts: list[Contact]) -> list[Contact]:
        seen: dict[str, int] = {}
        for index, contact in enumerate(contacts):
            key = contact.name.casefold()
            if key in seen:
                raise ItemError(
                    f"ce service est déjà le n°{seen[key] + 1} ; gardez-le une seule fois",
                    index,
                    seen[key],
                )
            seen[key] = index
        return contacts


class Letter(BaseModel):
    """`letter.<lang>.md`: the front matter and the Markdown body of one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: str
    title: Text
    headline: Text
    call_to_action: Text
    review: Literal["pending", "done"] | None = None
    body: str = Field(min_length=1)


class School(BaseModel):
    """One row of a `--schools` CSV: a school, the service that serves it, its own contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    school: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=160)]
    service: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=120)]
    contact: Annotated[str, BeforeValidator(_clean_text), Field(max_length=120)] | None = None
    phone: PhoneField | None = None
    email: EmailField | None = None


@dataclass
class Campaign:
    """Everything a build renders: the contacts, one letter per language, what to warn about."""

    contacts: ContactList
    letters: dict[str, Letter]
    sources: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
