"""The validated content: contacts, letters and the campaign that holds them.

Every value reaches the model as the string the person typed (see `load.py`); the
validators here decide what is acceptable and say, in French, what would be right.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from phonenumbers import shortnumberinfo
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from flyer.errors import Problem
from flyer.values import parse_email

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
    first_digit = next((ch for ch in text if ch.isdigit()), "")
    if number is not None and phonenumbers.is_valid_number(number):
        if not text.startswith("+") and first_digit != "0":
            # phonenumbers accepts a national number without its trunk 0, but printed
            # that way it cannot be dialled from a Belgian phone. The 0 goes before the
            # first digit, so `(56) 39 16 20` becomes `(056) 39 16 20`, not `0(56) …`.
            fixed = re.sub(r"\d", lambda m: "0" + m.group(0), text, count=1)
            raise ValueError(f"« {text} » : il manque le 0 du début ; écrivez « {fixed} »")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return Phone(text=text, uri=f"tel:{e164}")
    digits = re.sub(r"\D", "", text)
    if number is not None and shortnumberinfo.is_valid_short_number_for_region(number, REGION):
        if text.startswith("+") or text.startswith("00"):
            # `+32 112` reads as the national number 112 of Belgium, but a short number
            # has no international form: `tel:32112` would dial something else.
            national = str(number.national_number)
            raise ValueError(
                f"« {text} » : un numéro court ne s'écrit pas avec l'indicatif du pays ; "
                f"écrivez seulement « {national} »"
            )
        return Phone(text=text, uri=f"tel:{digits}")
    raise ValueError(
        f"« {text} » n'est pas un numéro belge valide ({len(digits)} chiffres) ; "
        "un fixe a 9 chiffres avec le 0 (056/39 16 20), un GSM 10 (0474/81 08 91)"
    )


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


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
# One day of slack: a date typed in Belgium just after midnight is "tomorrow" for a
# server whose clock runs on UTC.
FUTURE_SLACK = dt.timedelta(days=1)


def parse_date(value: object) -> dt.date:
    """ISO dates as YAML writes them, and the Belgian 13/09/2016 people type.

    Also what a spreadsheet cell holds (a datetime), and what `--date` receives. A date
    in the future is accepted here (a letter may be dated tomorrow): `check_not_future`
    is the separate step for the date the contacts were checked.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", text):
            raise ValueError(f"« {text} » : écrivez l'année en entier, par exemple 13/09/2016")
        if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}-\d{1,2}-\d{1,2}", text):
            raise ValueError(f"« {text} » : cette date n'existe pas (jour ou mois impossible) ; "
                             "écrivez le jour puis le mois, par exemple 13/09/2016")
    raise ValueError(f"« {value} » n'est pas une date ; écrivez-la 2016-09-13 ou 13/09/2016")


def check_not_future(date: dt.date, today: dt.date) -> dt.date:
    """`date` itself, or a French ValueError when it is after `today` (a check date cannot
    be in the future; the example given is today's date)."""
    if date > today + FUTURE_SLACK:
        raise ValueError(
            f"le {date:%d/%m/%Y} est dans le futur ; écrivez la date où vous avez vérifié les "
            f"coordonnées, par exemple la date du jour, {today:%d/%m/%Y}"
        )
    return date


def _clean_text(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


PhoneField = Annotated[Phone, BeforeValidator(parse_phone)]
EmailField = Annotated[str, BeforeValidator(parse_email)]
DescriptionField = Annotated[dict[str, str], BeforeValidator(parse_description)]
DateField = Annotated[dt.date, BeforeValidator(parse_date)]
Text = Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=400)]


# --- what people see of a field --------------------------------------------------------
# A field's French label, the spreadsheet headers that fill it and the example given when
# it is missing are declared on the field itself (below), so that a new contact field is
# this file and the template: `load.py` and `schools.py` derive their tables from here.

PHONE_COLUMNS = ("téléphone", "tél", "tel", "phone", "numéro", "numéro de téléphone", "gsm")
EMAIL_COLUMNS = ("courriel", "e-mail", "email", "mail", "adresse courriel", "adresse e-mail",
                 "adresse mail")


def shown_as(
    label: str, *columns: str, example: str | None = None,
    columns_by_lang: dict[str, list[str]] | None = None, **field: Any,
) -> Any:
    """A pydantic `Field` that also says how a person names it: `label` in messages,
    `columns` the spreadsheet headers that fill it (the first one is the one suggested),
    `example` what to write when it is missing, `columns_by_lang` for a text given per
    language (`description nl`) the headers of each language besides « <column> <lang> »."""
    extra: dict[str, Any] = {"columns": list(columns)}
    if columns_by_lang:
        extra["columns_by_lang"] = columns_by_lang
    return Field(title=label, examples=[example] if example else None,
                 json_schema_extra=extra, **field)


@dataclass(frozen=True)
class FieldText:
    """What people see of one model field (see `shown_as`)."""

    label: str
    example: str | None
    columns: tuple[str, ...]
    columns_by_lang: dict[str, tuple[str, ...]] | None = None  # a per-language text


def field_texts(model: type[BaseModel]) -> dict[str, FieldText]:
    """Every field of `model` with its label, example and spreadsheet headers."""
    texts: dict[str, FieldText] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        listed = extra.get("columns")
        columns = [str(c) for c in listed] if isinstance(listed, list) else []
        by_lang = extra.get("columns_by_lang")
        texts[name] = FieldText(
            label=info.title or name,
            example=str(info.examples[0]) if info.examples else None,
            columns=tuple(dict.fromkeys([*columns, name])),
            columns_by_lang={str(lang): tuple(str(c) for c in cols)
                             for lang, cols in by_lang.items() if isinstance(cols, list)}
            if isinstance(by_lang, dict) else None,
        )
    return texts


class Contact(BaseModel):
    """One service: its name, how to reach it, what it offers.

    Fields are in the order of a spreadsheet's columns; that order is also the order of
    the headers suggested to a person (`load.CSV_HEADERS_SHOWN`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=120)] = (
        shown_as("nom", "nom", "name", "service", "nom du service",
                 example="« name: Nom du service »"))
    phone: PhoneField = shown_as("téléphone", *PHONE_COLUMNS,
                                 example='« phone: "056/39 16 20" »')
    email: EmailField | None = shown_as("courriel", *EMAIL_COLUMNS,
                                        example="« email: nom@exemple.be »", default=None)
    description: DescriptionField = shown_as(
        "description", "description", example="« description: Ce que le service propose »",
        columns_by_lang={"nl": ["beschrijving"]}, default_factory=dict)

    def describe(self, lang: str) -> str:
        """The description in `lang`, falling back to French, or ''."""
        return self.description.get(lang) or self.description.get("fr", "")

    def description_lang(self, lang: str) -> str | None:
        """The language of the text `describe(lang)` returns: `lang`, "fr" when it falls
        back to French, None when there is no description (for the `lang` attribute)."""
        if self.description.get(lang):
            return lang
        return "fr" if self.description.get("fr") else None


class ContactList(BaseModel):
    """`contacts.yaml`: the services in the order they are printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    updated: DateField = shown_as(
        "updated", "mis à jour", "mis à jour le", "updated", "date", "vérifié le",
        "date de mise à jour",
        example="« updated: 2016-09-13 » (la date où vous avez vérifié les coordonnées)")
    contacts: list[Contact] = shown_as(
        "contacts", example="« contacts: » puis une ligne « - name: … » par service",
        min_length=1)

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
    """One row of a `--schools` list: a school, the service that serves it, its own contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    school: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=160)] = (
        shown_as("école", "école", "établissement", "nom de l'école"))
    service: Annotated[str, BeforeValidator(_clean_text), Field(min_length=1, max_length=120)] = (
        shown_as("service", "service", "centre", "cpms"))
    contact: Annotated[str, BeforeValidator(_clean_text), Field(max_length=120)] | None = (
        shown_as("contact", "contact", "personne de contact", "personne", default=None))
    phone: PhoneField | None = shown_as("téléphone", *PHONE_COLUMNS, default=None)
    email: EmailField | None = shown_as("courriel", *EMAIL_COLUMNS, default=None)


@dataclass
class Campaign:
    """Everything a build renders: the contacts, one letter per language, what to warn about."""

    contacts: ContactList
    letters: dict[str, Letter]
    sources: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
