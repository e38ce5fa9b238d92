"""Reading data/: the shipped seed, strings kept as typed, errors at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyer.errors import FlyerError
from flyer.load import load_campaign, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
# A verbatim copy of the client's text (shared/seed/000_22a54502d16eebae.txt).
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_client_text.txt"

SEED_ORDER = [
    "CPMS Libre Mouscron 1", "CPMS Libre Mouscron 2", "CPMS Provincial (ICET)",
    "CPMS CF (Artem)", "CPMS Spécialisé (Tremplin)", "Service de Médiation Scolaire",
    "La Passerelle", "Le Décllic", "Le pôle Psycho-social de la Police",
    "Le Pôle égalité des chances",
]


def test_shipped_contacts_are_the_seed_services_in_order() -> None:
    campaign = load_campaign(ROOT / "data", ["fr"])
    contacts = campaign.contacts.contacts
    assert [c.name for c in contacts] == SEED_ORDER
    assert all(c.email for c in contacts)
    assert contacts[0].phone.uri == "tel:+3256391620"
    assert str(campaign.contacts.updated) == "2016-09-13"


def test_shipped_data_reproduces_every_word_of_the_seed() -> None:
    import re

    seed = SEED.read_text(encoding="utf-8")
    campaign = load_campaign(ROOT / "data", ["fr"])
    letter = campaign.letters["fr"]
    shipped = " ".join([letter.title, letter.headline, letter.body])
    for contact in campaign.contacts.contacts:
        shipped += " ".join(["", contact.name, contact.phone.text, contact.email or "",
                             contact.describe("fr")])
    words = re.findall(r"[\w'’]+", re.sub(r"<[^>]+>", " ", seed))
    shipped_words = set(re.findall(r"[\w'’]+", shipped))
    missing = [w for w in words if w not in shipped_words and w.lower() not in
               {"services", "contacts", "mailto", "b", "i", "a", "href", "br"}]
    assert missing == []


def test_yaml_scalars_stay_strings_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    data, lines = parse_yaml("phone: 056331247\nflag: NO\ntime: 9:30\nn: +3256391620\n", path)
    assert data == {"phone": "056331247", "flag": "NO", "time": "9:30", "n": "+3256391620"}
    assert lines[("time",)] == 3


def test_duplicated_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    with pytest.raises(FlyerError) as info:
        parse_yaml("name: a\nphone: '1'\nname: b\n", tmp_path / "x.yaml")
    assert info.value.line == 3
    assert "déjà ligne 1" in str(info.value)


def test_every_error_of_the_file_is_reported_at_its_line(data_copy: Path) -> None:
    path = data_copy / "contacts.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('phone: "056/39 16 01"', 'phone: "05639160"', 1)
    text = text.replace("email: egalite@mouscron.be", "emial: egalite@mouscron.be", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FlyerError) as info:
        load_campaign(data_copy, ["fr"])
    problems = info.value.problems
    assert len(problems) == 2
    lines = text.splitlines()
    phone, unknown = problems
    assert phone.path == path and "05639160" in lines[phone.line - 1]
    assert "n'est pas un numéro belge valide" in phone.message
    assert "emial" in lines[unknown.line - 1]
    assert "vouliez-vous dire « email »" in unknown.message
