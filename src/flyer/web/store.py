"""Saving the files of `data/` from the web app without losing anything.

- Round-trip YAML (ruamel.yaml): comments, key order, quoting and every untouched service
  stay byte-identical; only the edited values change (`edit_contacts`, `edit_front_matter`).
- Conflicts: a page carries the hash of the file it was made from; a save whose hash no
  longer matches the file on disk is refused (`Conflict`), nothing is overwritten.
- Atomic writes: a temporary file in the same folder, fsync, `os.replace`; the new file's
  mode follows the umask like any file the person creates.
- History: the version being replaced goes to `data/.history/` first (the last
  `KEEP_VERSIONS` of each file), and any of them can be restored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ruamel.yaml import YAML

KEEP_VERSIONS = 50
HISTORY = ".history"
# The canonical key order of a service, used only to place a key that was not there.
SERVICE_KEYS = ("name", "description", "phone", "email")
_VERSION_ID = re.compile(r"^\d{8}-\d{6}-\d{6}$")
# One lock per process: two saves from two tabs never interleave their check and write.
_WRITE_LOCK = threading.Lock()


class Conflict(Exception):
    """The file changed on disk since the page that wants to save it was made."""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """The hash a page carries for `path` ("" when the file does not exist)."""
    try:
        return content_hash(path.read_bytes())
    except FileNotFoundError:
        return ""


_UMASK: int | None = None
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask (read once: reading it means setting it, which is not thread-safe)."""
    global _UMASK
    if _UMASK is None:
        with _UMASK_LOCK:
            if _UMASK is None:
                mask = os.umask(0o022)
                os.umask(mask)
                _UMASK = mask
    return _UMASK


def remember_umask() -> None:
    """Read the umask while the process is still single-threaded (server start-up)."""
    _umask()


# --- versions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Version:
    """One earlier version of a data file, kept in `data/.history/`."""

    id: str  # YYYYMMDD-HHMMSS-microseconds: sortable, and never a path
    when: dt.datetime
    size: int


def _history_dir(path: Path) -> Path:
    return path.parent / HISTORY


def _version_name(path: Path, version_id: str) -> str:
    # contacts.yaml → contacts.20261201-101530-000123.yaml
    return f"{path.stem}.{version_id}{path.suffix}"


def versions(path: Path) -> list[Version]:
    """Earlier versions of `path`, newest first."""
    folder = _history_dir(path)
    found: list[Version] = []
    prefix, suffix = f"{path.stem}.", path.suffix
    with contextlib.suppress(FileNotFoundError):
        for entry in folder.iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(suffix)):
                continue
            version_id = name[len(prefix):len(name) - len(suffix)]
            if not _VERSION_ID.match(version_id):
                continue
            when = dt.datetime.strptime(version_id, "%Y%m%d-%H%M%S-%f")
            found.append(Version(version_id, when, entry.stat().st_size))
    return sorted(found, key=lambda v: v.id, reverse=True)


def read_version(path: Path, version_id: str) -> bytes:
    """The bytes of one earlier version; the id must be one `versions()` lists."""
    if version_id not in {v.id for v in versions(path)}:
        raise KeyError(version_id)
    return (_history_dir(path) / _version_name(path, version_id)).read_bytes()


def _keep_version(path: Path, content: bytes) -> None:
    folder = _history_dir(path)
    folder.mkdir(exist_ok=True)
    now = dt.datetime.now()
    version_id = now.strftime("%Y%m%d-%H%M%S-%f")
    while (folder / _version_name(path, version_id)).exists():  # two saves in one µs
        now += dt.timedelta(microseconds=1)
        version_id = now.strftime("%Y%m%d-%H%M%S-%f")
    _write_file(folder / _version_name(path, version_id), content)
    for old in versions(path)[KEEP_VERSIONS:]:
        with contextlib.suppress(OSError):
            (folder / _version_name(path, old.id)).unlink()


# --- writing --------------------------------------------------------------------------

def _write_file(target: Path, content: bytes) -> None:
    """Write `content` to `target` all at once: temp file, fsync, rename, fsync the folder."""
    fd, staged = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; a saved file gets the mode any new file of the person gets.
        os.chmod(staged, 0o666 & ~_umask())
        os.replace(staged, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a folder
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def save(path: Path, content: bytes, expected_hash: str) -> str:
    """Replace `path` by `content` if it still has `expected_hash`; return the new hash.

    The version replaced goes to the history first. Raises `Conflict` (nothing written)
    when the file changed since the page was made.
    """
    with _WRITE_LOCK:
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if (content_hash(current) if current is not None else "") != expected_hash:
            raise Conflict(path)
        if current == content:
            return expected_hash
        if current is not None:
            _keep_version(path, current)
        _write_file(path, content)
        return content_hash(content)


def restore(path: Path, version_id: str, expected_hash: str) -> str:
    """Put an earlier version back (the current one goes to the history)."""
    return save(path, read_version(path, version_id), expected_hash)


# --- round-trip YAML ------------------------------------------------------------------

def _yaml() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1_000_000  # never re-wrap a long description onto several lines
    # `contacts:` then `  - name: …` with the keys under `name`, as data/contacts.yaml has it.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_roundtrip(text: str) -> Any:
    return _yaml().load(text)


def dump_roundtrip(data: Any) -> str:
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    return buffer.getvalue()


def _styled(old: Any, new: str) -> Any:
    """`new` written with the quoting `old` had (double quotes stay double quotes)."""
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(old, ScalarString) and "\n" not in new:
        return type(old)(new)
    return new


@dataclass
class ServiceValues:
    """One service as the form sends it: where it was in the file, and its texts."""

    origin: int | None  # index in the file, None for a service added on the page
    name: str = ""
    phone: str = ""
    email: str = ""
    description: dict[str, str] = field(default_factory=dict)  # lang → text ("" = none)


def edit_contacts(text: str, services: Sequence[ServiceValues],
                  updated: dt.date | None = None) -> str:
    """`contacts.yaml` with `services` (in this order) and, if given, a new `updated`.

    Services keep their own YAML node, so their comments and quoting travel with them;
    a value is rewritten only when it differs from the file's (as typed, spaces aside).
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    newline = "\r\n" if "\r\n" in text else "\n"
    data = load_roundtrip(text.replace("\r\n", "\n"))
    old_items: CommentedSeq = data["contacts"]
    gap = _item_gap(old_items)
    last_tail = _trailing(old_items[-1]) if len(old_items) else None
    structural = [s.origin for s in services] != list(range(len(old_items)))
    items: list[CommentedMap] = []
    for service in services:
        if service.origin is None or not 0 <= service.origin < len(old_items):
            item = CommentedMap()
            item["name"] = service.name
            structural = True
        else:
            item = old_items[service.origin]
        structural |= _apply_service(item, service, old_items)
        items.append(item)
    if structural:
        # Keep the file's rhythm: the blank line between two services stays between two
        # services, whatever moved, and the last one ends the way the last one did.
        for index, item in enumerate(items):
            tail = _take_trailing(item)
            if tail is not None and not _blank(tail):
                _put_trailing(item, tail)  # a real comment stays with its service
            elif index < len(items) - 1:
                _put_trailing(item, gap)
            else:
                _put_trailing(item, last_tail if last_tail is not None else None)
    old_items[:] = items
    if updated is not None and data.get("updated") != updated:
        data["updated"] = updated
    return dump_roundtrip(data).replace("\n", newline)


def _apply_service(item: Any, service: ServiceValues, old_items: Any) -> bool:
    """Write the service's values into its node; True when a key was added or removed."""
    tail = _take_trailing(item)
    changed_keys = False
    wanted: dict[str, Any] = {"name": service.name, "phone": service.phone,
                              "email": service.email or None}
    for key, value in wanted.items():
        if value is None:
            if key in item:
                del item[key]
                changed_keys = True
            continue
        if key in item:
            if _same(item[key], value):
                continue
            item[key] = _styled(item[key], value)
        else:
            _insert_key(item, key, _styled(_example(old_items, key), value))
            changed_keys = True
    changed_keys |= _apply_description(item, service.description)
    _put_trailing(item, tail)
    return changed_keys


def _apply_description(item: Any, texts: dict[str, str]) -> bool:
    from ruamel.yaml.comments import CommentedMap

    texts = {lang: text for lang, text in texts.items() if text}
    old = item.get("description")
    if not texts:
        if "description" in item:
            del item["description"]
            return True
        return False
    if isinstance(old, str) and set(texts) == {"fr"}:
        if not _same(old, texts["fr"]):
            item["description"] = _styled(old, texts["fr"])
        return False
    if isinstance(old, CommentedMap):
        for lang in [lang for lang in old if lang not in texts]:
            del old[lang]
        for lang, text in texts.items():
            if lang not in old:
                old[lang] = text
            elif not _same(old[lang], text):
                old[lang] = _styled(old[lang], text)
        return False
    mapping = CommentedMap()
    for lang in sorted(texts, key=lambda x: (x != "fr", x)):
        mapping[lang] = texts[lang]
    if "description" in item:
        item["description"] = mapping
        return False
    _insert_key(item, "description", mapping)
    return True


def _same(old: Any, new: str) -> bool:
    return " ".join(str(old).split()) == " ".join(new.split())


def _example(old_items: Any, key: str) -> Any:
    """The value of `key` in the first service that has one: its quoting is the file's."""
    return next((item[key] for item in old_items if key in item), None)


def _insert_key(item: Any, key: str, value: Any) -> None:
    rank = SERVICE_KEYS.index(key) if key in SERVICE_KEYS else len(SERVICE_KEYS)
    position = sum(1 for k in item if k in SERVICE_KEYS and SERVICE_KEYS.index(k) < rank)
    item.insert(position, key, value)


# ruamel keeps what follows a service (its blank line, a comment) on the comment slot of
# its last key, nested as deep as the last value goes.
def _last_slot(item: Any) -> tuple[Any, Any] | None:
    from ruamel.yaml.comments import CommentedMap

    node = item
    while isinstance(node, CommentedMap) and len(node):
        key = list(node)[-1]
        if isinstance(node[key], CommentedMap) and len(node[key]):
            node = node[key]
            continue
        return node, key
    return None


def _trailing_entry(item: Any) -> tuple[Any, Any, list[Any]] | None:
    """The comment entry holding what follows `item`, with its node and key, if any."""
    slot = _last_slot(item)
    if slot is None:
        return None
    node, key = slot
    entry = node.ca.items.get(key)
    if not entry or len(entry) <= 2 or entry[2] is None:
        return None
    return node, key, entry


def _trailing(item: Any) -> Any:
    found = _trailing_entry(item)
    return found[2][2] if found else None


def _take_trailing(item: Any) -> Any:
    found = _trailing_entry(item)
    if found is None:
        return None
    node, key, entry = found
    token = entry[2]
    entry[2] = None
    if not any(entry):
        del node.ca.items[key]
    return token


def _put_trailing(item: Any, token: Any) -> None:
    if token is None:
        return
    slot = _last_slot(item)
    if slot is None:
        return
    node, key = slot
    entry = node.ca.items.setdefault(key, [None, None, None, None])
    entry[2] = token


def _blank(token: Any) -> bool:
    return not str(getattr(token, "value", "")).strip()


def _item_gap(items: Any) -> Any:
    """What separates two services in this file (a blank line, usually), as a token."""
    for item in list(items)[:-1]:
        token = _trailing(item)
        if token is not None and _blank(token):
            return token
    return None


def edit_front_matter(text: str, values: dict[str, str | None], body: str) -> str:
    """A letter with new front-matter values and body; comments and quoting kept.

    `values` maps a key to its new text (None removes the key). The body is written
    as given, with the file's own line endings.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    front = "".join(lines[1:end]).replace("\r\n", "\n")
    data = load_roundtrip(front)
    for key, value in values.items():
        if value is None:
            if key in data:
                del data[key]
        elif key not in data:
            data[key] = value
        elif str(data[key]) != value:
            data[key] = _styled(data[key], value)
    new_front = dump_roundtrip(data) if data else ""
    if newline != "\n":
        new_front = new_front.replace("\n", newline)
    old_body = "".join(lines[end + 1:])
    body = body.replace("\r\n", "\n")
    if newline != "\n":
        body = body.replace("\n", newline)
    if old_body.endswith(newline) and not body.endswith(newline):
        body += newline
    return f"{lines[0]}{new_front}{lines[end]}{body}"
