"""Folder names: readable, never empty, never shared by two different names, Windows-safe."""

from __future__ import annotations

import pytest

from flyer.names import folder_name, unique_folder_names


@pytest.mark.parametrize(("name", "folder"), [
    ("Cœur de l'école", "coeur-de-l-ecole"),
    ("Athénée fictif du Beau-Site", "athenee-fictif-du-beau-site"),
    ("École n° 3 / «annexe»", "ecole-n-3-annexe"),
    ("Parents & Ados", "parents-et-ados"),
])
def test_folder_names_are_plain_ascii(name: str, folder: str) -> None:
    assert folder_name(name) == folder


@pytest.mark.parametrize("name", ["😀", "!!!", "🙂"])
def test_a_name_without_letters_gets_its_own_non_empty_folder(name: str) -> None:
    folder = folder_name(name)
    assert folder.startswith("service-") and len(folder) > len("service-")
    assert folder == folder_name(name)  # the same on every run


def test_two_names_without_letters_never_share_a_folder() -> None:
    assert len({folder_name(n) for n in ("😀", "!!!", "🙂", "???")}) == 4


@pytest.mark.parametrize("name", ["CON", "nul", "Com1", "LPT9", "aux", "COM¹", "Con.txt"])
def test_names_windows_reserves_get_a_suffix(name: str) -> None:
    folder = folder_name(name)
    base = folder.split("-")[0]
    assert folder != base and len(folder) > 4, folder


def test_long_names_are_cut_but_stay_apart() -> None:
    common = "Institut d'enseignement secondaire fictif de la ville imaginaire de Mouscron"
    first, second = folder_name(common + " section A"), folder_name(common + " section B")
    assert first != second
    assert len(first) <= 60 and len(second) <= 60
    assert first.startswith("institut-d-enseignement-secondaire")


def test_same_name_is_a_duplicate_and_different_names_get_their_own_folder() -> None:
    assigned = unique_folder_names([
        (2, "École fictive des Prés"), (3, "ecole  fictive des PRES"),
        (4, "École n°3"), (5, "École n 3"), (6, "École n 3-2"), (7, "École n°3 "),
    ], fallback="ecole")
    assert [(a.line, a.folder, a.same_as) for a in assigned] == [
        (2, "ecole-fictive-des-pres", None), (3, "ecole-fictive-des-pres", 2),
        (4, "ecole-n3", None), (5, "ecole-n-3", None), (6, "ecole-n-3-2", None),
        (7, "ecole-n3", 4)]


def test_suffix_never_takes_a_folder_already_given() -> None:
    assigned = unique_folder_names([(1, "A 2"), (2, "A"), (3, "A!"), (4, "A?")])
    assert [a.folder for a in assigned] == ["a-2", "a", "a-3", "a-4"]
