"""Saving data files: byte-identical round trips, atomic writes, history, conflicts."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import stat
from pathlib import Path

import pytest

from flyer.web import store
from flyer.web.forms import form_from_file
from flyer.web.store import Conflict, ServiceValues, edit_contacts, edit_front_matter

ROOT = Path(__file__).resolve().parents[2]
CONTACTS = (ROOT / "data" / "contacts.yaml").read_text(encoding="utf-8")


def values(text: str) -> list[ServiceValues]:
    return [s.values for s in form_from_file(store.load_roundtrip(text), ("fr", "nl")).services]


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_unchanged_services_write_back_byte_identical() -> None:
    assert edit_contacts(CONTACTS, values(CONTACTS)) == CONTACTS


def test_one_phone_changed_is_one_line_changed() -> None:
    services = values(CONTACTS)
    services[2].phone = "056/48 18 91"
    new = edit_contacts(CONTACTS, services)
    assert changed_lines(CONTACTS, new) == ['-    phone: "056/48 18 90"',
                                           '+    phone: "056/48 18 91"']


def test_comments_and_quoting_survive_an_edit() -> None:
    services = values(CONTACTS)
    services[0].email = "nouvelle.adresse@skynet.be"
    new = edit_contacts(CONTACTS, services)
    assert new.splitlines()[:5] == CONTACTS.splitlines()[:5]  # the header comments
    assert '    phone: "056/39 16 20"' in new.splitlines()


def test_moving_a_service_keeps_one_blank_line_between_services() -> None:
    services = values(CONTACTS)
    services.insert(0, services.pop())
    new = edit_contacts(CONTACTS, services)
    blocks = new.split("contacts:\n", 1)[1].split("\n\n")
    assert len(blocks) == len(services)
    assert blocks[0].startswith("  - name: Le Pôle égalité des chances")
    assert not new.endswith("\n\n")


def test_added_service_follows_the_files_quoting_and_key_order() -> None:
    services = values(CONTACTS)
    services.append(ServiceValues(None, "Maison de quartier", "056/11 22 33", "mq@exemple.be",
                                  {"fr": "Accueil : lundi", "nl": ""}))
    new = edit_contacts(CONTACTS, services)
    assert new.endswith('\n\n  - name: Maison de quartier\n    description:\n'
                        "      fr: 'Accueil : lundi'\n"
                        '    phone: "056/11 22 33"\n    email: mq@exemple.be\n')


def test_removing_an_email_keeps_the_blank_line_after_the_service() -> None:
    services = values(CONTACTS)
    services[0].email = ""
    new = edit_contacts(CONTACTS, services)
    assert changed_lines(CONTACTS, new) == ["-    email: cpms.libre.mouscron@skynet.be"]


def test_updated_date_is_the_only_change_when_verified() -> None:
    new = edit_contacts(CONTACTS, values(CONTACTS), dt.date(2026, 3, 1))
    assert changed_lines(CONTACTS, new) == ["-updated: 2016-09-13", "+updated: 2026-03-01"]


def test_windows_line_endings_are_kept() -> None:
    crlf = CONTACTS.replace("\n", "\r\n")
    services = values(crlf)
    services[0].phone = "056/39 16 21"
    new = edit_contacts(crlf, services)
    assert new.count("\r\n") == crlf.count("\r\n")
    assert '    phone: "056/39 16 21"\r\n' in new


def test_letter_front_matter_edit_keeps_comments_and_body() -> None:
    text = (ROOT / "data" / "letter.nl.md").read_text(encoding="utf-8")
    body = text.split("---\n", 2)[2]
    assert edit_front_matter(text, {}, body) == text
    new = edit_front_matter(text, {"review": "done"}, body)
    assert changed_lines(text, new) == ["-review: pending", "+review: done"]


def test_save_replaces_atomically_keeps_history_and_follows_umask(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    old_umask = os.umask(0o027)
    try:
        store._UMASK = None  # read again under this umask
        new_hash = store.save(path, b"version: 2\n", store.file_hash(path))
    finally:
        os.umask(old_umask)
        store._UMASK = None
    assert path.read_bytes() == b"version: 2\n"
    assert new_hash == store.file_hash(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    [version] = store.versions(path)
    assert store.read_version(path, version.id) == b"version: 1\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_save_refuses_when_the_file_changed_since_the_page(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    seen = store.file_hash(path)
    path.write_text("edited by hand\n", encoding="utf-8")
    with pytest.raises(Conflict):
        store.save(path, b"version: 2\n", seen)
    assert path.read_text(encoding="utf-8") == "edited by hand\n"
    assert store.versions(path) == []


def test_history_keeps_the_last_fifty_versions(tmp_path: Path) -> None:
    path = tmp_path / "letter.fr.md"
    path.write_text("0", encoding="utf-8")
    for n in range(1, 56):
        store.save(path, str(n).encode(), store.file_hash(path))
    kept = store.versions(path)
    assert len(kept) == store.KEEP_VERSIONS
    assert store.read_version(path, kept[0].id) == b"54"
    assert store.read_version(path, kept[-1].id) == b"5"


def test_restore_puts_an_old_version_back_and_keeps_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text("a\n", encoding="utf-8")
    store.save(path, b"b\n", store.file_hash(path))
    [first] = store.versions(path)
    store.restore(path, first.id, store.file_hash(path))
    assert path.read_bytes() == b"a\n"
    assert sorted(store.read_version(path, v.id) for v in store.versions(path)) == [b"a\n",
                                                                                   b"b\n"]


def test_a_version_id_is_never_a_path(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text("a\n", encoding="utf-8")
    with pytest.raises(KeyError):
        store.read_version(path, "../../etc/passwd")
