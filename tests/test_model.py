"""What the model accepts and what it refuses, with the French reason."""

from __future__ import annotations

import datetime as dt

import pytest

from flyer.model import (
    Contact,
    check_not_future,
    field_texts,
    parse_date,
    parse_email,
    parse_phone,
)


@pytest.mark.parametrize(
    ("typed", "printed", "uri"),
    [
        ("056/39 16 20", "056/39 16 20", "tel:+3256391620"),
        ("0474/81 08 91", "0474/81 08 91", "tel:+32474810891"),
        ("056331247", "056331247", "tel:+3256331247"),
        ("+32 56 39 16 20", "+32 56 39 16 20", "tel:+3256391620"),
        ("  056 / 39  16 20 ", "056 / 39 16 20", "tel:+3256391620"),
        ("112", "112", "tel:112"),
        ("103", "103", "tel:103"),
    ],
)
def test_phone_is_printed_as_typed_and_dialled_in_e164(typed: str, printed: str, uri: str) -> None:
    phone = parse_phone(typed)
    assert (phone.text, phone.uri) == (printed, uri)


@pytest.mark.parametrize("typed", ["05639162", "056/39 16 2", "abc", "", "0800 FLYER"])
def test_invalid_phone_is_refused_in_french(typed: str) -> None:
    with pytest.raises(ValueError, match=r"numéro|chiffres"):
        parse_phone(typed)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("mailto:egalite@mouscron.be", "retirez « mailto: »"),
        ("Pôle <egalite@mouscron.be>", "chevrons"),
        ("a@mouscron.be, b@mouscron.be", "plusieurs adresses"),
        ("a@mouscron.be;b@mouscron.be", "plusieurs adresses"),
        ("ega lite@mouscron.be", "espace"),
        ("egalite.mouscron.be", "pas une adresse"),
        ("egalite@", "pas une adresse"),
    ],
)
def test_bad_email_is_refused_with_what_to_do(typed: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_email(typed)


def test_description_string_is_french_and_mapping_is_per_language() -> None:
    plain = Contact.model_validate({"name": "A", "phone": "112", "description": "bonjour"})
    both = Contact.model_validate(
        {"name": "A", "phone": "112", "description": {"fr": "bonjour", "nl": "hallo"}}
    )
    assert plain.describe("fr") == "bonjour" and plain.describe("nl") == "bonjour"
    assert both.describe("nl") == "hallo"


@pytest.mark.parametrize("typed", ["+32 112", "+32112", "+32 1733", "0032 112"])
def test_short_number_written_with_the_country_code_is_refused_with_the_number_to_write(
    typed: str,
) -> None:
    with pytest.raises(ValueError, match="un numéro court ne s'écrit pas avec l'indicatif"):
        parse_phone(typed)


def test_area_code_in_parentheses_is_a_number_people_write() -> None:
    phone = parse_phone("(056) 39.16.20")
    assert (phone.text, phone.uri) == ("(056) 39.16.20", "tel:+3256391620")


@pytest.mark.parametrize(("typed", "suggested"), [
    ("(56) 39.16.20", "(056) 39.16.20"), ("56 39 16 20", "056 39 16 20"),
    ("474/81 08 91", "0474/81 08 91"),
])
def test_missing_zero_suggestion_is_a_number_that_parses(typed: str, suggested: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_phone(typed)
    assert f"écrivez « {suggested} »" in str(caught.value)
    assert parse_phone(suggested).uri.startswith("tel:+32")


@pytest.mark.parametrize(("typed", "date"), [
    ("2026-12-01", dt.date(2026, 12, 1)), ("01/12/2026", dt.date(2026, 12, 1)),
    ("1.12.2026", dt.date(2026, 12, 1)), (dt.datetime(2026, 12, 1, 9, 30), dt.date(2026, 12, 1)),
])
def test_dates_as_people_and_spreadsheets_write_them(typed: object, date: dt.date) -> None:
    assert parse_date(typed) == date


@pytest.mark.parametrize(("typed", "words"), [
    ("demain", ["n'est pas une date", "13/09/2016"]),
    ("31/02/2026", ["n'existe pas", "13/09/2016"]),
    ("2026-13-01", ["n'existe pas"]),
    ("13/09/16", ["l'année en entier", "13/09/2016"]),
])
def test_bad_date_says_why_with_an_example(typed: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        parse_date(typed)
    for word in words:
        assert word in str(caught.value)


def test_future_is_fine_for_a_letter_date_but_not_for_a_check_date() -> None:
    today = dt.date(2026, 11, 29)
    assert parse_date("2099-12-31") == dt.date(2099, 12, 31)
    assert check_not_future(dt.date(2026, 11, 30), today)  # a server clock on UTC
    with pytest.raises(ValueError, match=r"dans le futur.*la date du jour, 29/11/2026"):
        check_not_future(dt.date(2099, 12, 31), today)


def test_description_lang_says_which_language_describe_returns() -> None:
    both = Contact.model_validate(
        {"name": "A", "phone": "112", "description": {"fr": "bonjour", "nl": "hallo"}})
    french = Contact.model_validate({"name": "A", "phone": "112", "description": "bonjour"})
    none = Contact.model_validate({"name": "A", "phone": "112"})
    assert [both.description_lang(x) for x in ("fr", "nl", "de")] == ["fr", "nl", "fr"]
    assert french.description_lang("nl") == "fr"
    assert none.description_lang("nl") is None and none.describe("nl") == ""


def test_every_contact_field_says_its_label_headers_and_example() -> None:
    from flyer import load

    texts = field_texts(Contact)
    assert list(texts) == list(Contact.model_fields)
    for name, text in texts.items():
        assert text.label and text.example and text.columns, name
        assert load.FIELD_LABELS[name] == text.label
        assert load.MISSING_EXAMPLES[name] == text.example
        assert load.CSV_COLUMNS[load.normalise_header(text.columns[0])].split(".")[0] == name
    assert load.CSV_HEADERS_SHOWN == (
        "nom, téléphone, courriel, description, description nl, mis à jour")
