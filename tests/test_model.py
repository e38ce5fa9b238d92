"""What the model accepts and what it refuses, with the French reason."""

from __future__ import annotations

import pytest

from flyer.model import Contact, parse_email, parse_phone


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
