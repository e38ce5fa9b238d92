"""Hostile input: no data file or layout pack may read the machine's files, reach the
network, exhaust memory or escape the template sandbox; HTML and Jinja typed in text
fields print as typed.

The files are in tests/fixtures/hostile/. Each test asserts that nothing leaked: the
decompressed PDF and its text hold no secret, it embeds no file, and a counting HTTP
server on 127.0.0.1 saw no connection.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import resource
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image
from typer.testing import CliRunner

from flyer.build import BuildOptions, BuildResult, build
from flyer.cli import app
from flyer.errors import FlyerError
from flyer.fetch import RefusedURL, RestrictedFetcher
from flyer.load import load_campaign

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests/fixtures/hostile"
PASSWD = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]  # root:x:0:0:…


class CountingServer(ThreadingHTTPServer):
    """Answers anything with a tiny PNG and counts every connection it is offered."""

    connections = 0

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (2, 2), "red").save(buffer, "PNG")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(buffer.getvalue())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[CountingServer]:
    httpd = CountingServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def secret(tmp_path: Path) -> str:
    """Files outside layouts/ and data/ that a hostile layout tries to read."""
    mark = f"FLYER-SECRET-{uuid.uuid4().hex}"
    (tmp_path / "secret.txt").write_text(mark, encoding="utf-8")
    (tmp_path / "secret.css").write_text(f'body::after {{ content: "{mark}"; }}',
                                         encoding="utf-8")
    (tmp_path / "secret.html").write_text(f"<p>{mark}</p>", encoding="utf-8")
    Image.new("RGB", (3, 3), "red").save(tmp_path / "secret.png")
    return mark


def _fill(name: str, port: int, tmp_path: Path) -> str:
    text = (HOSTILE / name).read_text(encoding="utf-8")
    return text.replace("__PORT__", str(port)).replace(
        "__SECRET__", (tmp_path / "secret.txt").as_uri())


def _decompressed(path: Path) -> bytes:
    with pikepdf.open(path) as pdf:
        buffer = io.BytesIO()
        pdf.save(buffer, compress_streams=False,
                 stream_decode_level=pikepdf.StreamDecodeLevel.generalized)
    return buffer.getvalue()


def _images(path: Path) -> list[tuple[int, int]]:
    with pikepdf.open(path) as pdf:
        return [(int(o.Width), int(o.Height)) for o in pdf.objects
                if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"]


def _embeds_files(path: Path) -> bool:
    with pikepdf.open(path) as pdf:
        names = pdf.Root.get("/Names", {})
        annots = [a for page in pdf.pages for a in page.obj.get("/Annots", [])]
        return "/EmbeddedFiles" in names or any(
            a.get("/Subtype") == "/FileAttachment" for a in annots)


def assert_nothing_leaked(out: Path, *marks: str) -> None:
    for pdf in sorted(out.glob("*.pdf")):
        raw = _decompressed(pdf)
        printed = pdfread.text(pdf)
        for mark in (PASSWD, *marks):
            assert mark.encode() not in raw, (pdf.name, mark)
            assert mark not in printed, (pdf.name, mark)
        assert not _embeds_files(pdf), pdf.name


def _hash_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- layouts -------------------------------------------------------------------------

@pytest.mark.allow_weasyprint_warnings
def test_layout_pack_reads_no_file_and_calls_no_server(
    tmp_path: Path, layouts_copy: Path, server: CountingServer, secret: str,
    seed_build: tuple[Path, BuildResult],
) -> None:
    port = server.server_address[1]
    for name, target in (("leaflet_fetches_everything.html", "leaflet.html"),
                         ("hostile.css", "hostile.css"), ("hostile.svg", "hostile.svg")):
        (layouts_copy / target).write_text(_fill(name, port, tmp_path), encoding="utf-8")
    leaflet = layouts_copy / "leaflet.html"
    # The stylesheets it links but cannot have stop the build (see the next test): here,
    # everything else a layout can fetch.
    leaflet.write_text("\n".join(line for line in leaflet.read_text(encoding="utf-8").splitlines()
                                 if "secret.css" not in line and "remote.css" not in line),
                       encoding="utf-8")
    (layouts_copy / "linked-secret.txt").symlink_to(tmp_path / "secret.txt")
    # The A5 leaflet shares leaflet.html, which links its own stylesheets here: it would come
    # out A4 and be refused by the preflight. Only the A4 documents are built.
    registry = layouts_copy / "documents.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").split("\nleaflet-a5:")[0],
                        encoding="utf-8")
    out = tmp_path / "out"

    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out))

    assert server.connections == 0
    assert not out.exists()  # nothing written, so nothing leaked
    said = "\n".join(str(p) for p in caught.value.problems)
    # Everything the layout tried to reach is named, at the template that asked for it.
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{port}/import.css",
                f"http://127.0.0.1:{port}/font.woff2",
                (tmp_path / "secret.css").as_uri(), (tmp_path / "secret.png").as_uri()):
        assert f"ressource refusée : {url}" in said, url
    assert f"{layouts_copy / 'leaflet.html'}: ressource refusée" in said
    assert "Failed to load" not in said  # the fetcher's French line is enough


def test_a_stylesheet_the_layout_cannot_have_stops_the_build(
    tmp_path: Path, layouts_copy: Path, server: CountingServer, secret: str,
) -> None:
    """Laid out without its stylesheet, a document is wrong paper: each refused link is an
    error naming it, and nothing is written."""
    port = server.server_address[1]
    (layouts_copy / "leaflet.html").write_text(
        _fill("leaflet_fetches_everything.html", port, tmp_path), encoding="utf-8")
    (layouts_copy / "hostile.css").write_text("", encoding="utf-8")
    (layouts_copy / "linked-secret.css").symlink_to(tmp_path / "secret.css")
    out = tmp_path / "out"
    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=out))
    refused = {p.path.name: p.message for p in caught.value.problems if p.path is not None}
    assert {"secret.css", "linked-secret.css", "remote.css"} <= set(refused), refused
    assert "feuille de style refusée" in refused["secret.css"]
    assert server.connections == 0
    assert not out.exists()


@pytest.mark.parametrize("target", ["_contacts.html", "i18n/fr.yaml"])
def test_symlink_out_of_layouts_is_refused(
    tmp_path: Path, layouts_copy: Path, secret: str, target: str,
) -> None:
    link = layouts_copy / target
    link.unlink()
    link.symlink_to(tmp_path / "secret.html")
    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=tmp_path / "out"))
    assert "lien vers un fichier hors du dossier de mise en page" in str(caught.value)
    assert secret not in str(caught.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_template_sandbox_escape_is_a_clear_error_and_writes_nothing(
    tmp_path: Path, layouts_copy: Path, seed_build: tuple[Path, BuildResult],
) -> None:
    shutil.copy(HOSTILE / "poster_sandbox_escape.html", layouts_copy / "poster.html")
    out = tmp_path / "output"
    shutil.copytree(seed_build[0], out)
    before = _hash_tree(out)

    result = CliRunner().invoke(app, ["build", "--data", str(ROOT / "data"), "--layouts",
                                      str(layouts_copy), "--out", str(out)])

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert f"{layouts_copy / 'poster.html'}:5: opération interdite" in result.stderr
    assert "__class__" in result.stderr
    assert _hash_tree(out) == before  # leaflet and letter were rendered, nothing written


@pytest.mark.allow_weasyprint_warnings
def test_oversized_image_is_refused_before_decoding(
    tmp_path: Path, layouts_copy: Path,
) -> None:
    huge = layouts_copy / "huge.png"
    Image.new("1", (12_000, 12_000)).save(huge)
    data_uri = "data:image/png;base64," + base64.b64encode(huge.read_bytes()).decode()
    leaflet = layouts_copy / "leaflet.html"
    template = leaflet.read_text(encoding="utf-8")
    assert "{% block body %}" in template  # the images must really reach the page
    leaflet.write_text(template.replace(
        "{% block body %}",
        f'{{% block body %}}<img src="huge.png" alt=""><img src="{data_uri}" alt="">'),
        encoding="utf-8")
    fetcher = RestrictedFetcher([layouts_copy])
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    for url in (huge.as_uri(), data_uri):
        with pytest.raises(RefusedURL, match="image trop grande \\(12000×12000 pixels"):
            fetcher.fetch(url)
    assert time.perf_counter() - start < 2
    # Decoding would cost 144 MB as 8-bit pixels and > 1 GB inside WeasyPrint.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000

    with pytest.raises(FlyerError) as caught:
        build(BuildOptions(data=ROOT / "data", layouts=layouts_copy, out=tmp_path / "out"))
    said = "\n".join(str(p) for p in caught.value.problems)
    assert said.count("image trop grande (12000×12000 pixels") == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("url", "why"), [
    ("file:///etc/passwd", "hors des dossiers"),
    ("{layouts}/../secret.txt", "hors des dossiers"),
    ("{layouts}/%2e%2e/secret.txt", "hors des dossiers"),
    ("{layouts}/linked-secret.txt", "hors des dossiers"),
    ("file://otherhost/etc/passwd", "autre machine"),
    ("http://127.0.0.1:{port}/x.png", "seuls les fichiers"),
    ("https://127.0.0.1:{port}/x.png", "seuls les fichiers"),
    ("ftp://127.0.0.1:{port}/x.png", "seuls les fichiers"),
    ("{layouts}/missing.css", "introuvable"),
    ("{layouts}/fonts", "pas un fichier ordinaire"),
])
def test_fetcher_refuses(
    tmp_path: Path, layouts_copy: Path, server: CountingServer, secret: str,
    url: str, why: str,
) -> None:
    (layouts_copy / "linked-secret.txt").symlink_to(tmp_path / "secret.txt")
    fetcher = RestrictedFetcher([layouts_copy])
    url = url.format(layouts=layouts_copy.as_uri(), port=server.server_address[1])
    with pytest.raises(RefusedURL, match=why):
        fetcher.fetch(url)
    assert fetcher.refused
    assert server.connections == 0


def test_fetcher_serves_files_inside_its_folders(layouts_copy: Path) -> None:
    response = RestrictedFetcher([layouts_copy]).fetch((layouts_copy / "base.css").as_uri())
    assert response.read() == (layouts_copy / "base.css").read_bytes()
    assert response.content_type == "text/css"


def test_no_weasyprint_object_is_built_without_our_fetcher() -> None:
    """WeasyPrint gives `CSS()`, `HTML()` and `Attachment()` its default fetcher (any file,
    any URL) when `url_fetcher=` is left out; the `attachments` option would embed files."""
    checked = 0
    for path in sorted((ROOT / "src/flyer").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg for k in node.keywords}
            assert "attachments" not in keywords, f"{path.name}:{node.lineno}"
            if name in ("HTML", "CSS", "Attachment"):
                checked += 1
                assert "url_fetcher" in keywords, f"{path.name}:{node.lineno}: {name}()"
    assert checked >= 1


# --- data ----------------------------------------------------------------------------

@pytest.fixture
def markup_build(
    tmp_path: Path, data_copy: Path, server: CountingServer
) -> tuple[Path, BuildResult, CountingServer]:
    port = server.server_address[1]
    (data_copy / "letter.fr.md").write_text(
        _fill("letter_with_raw_html.fr.md", port, tmp_path), encoding="utf-8")
    shutil.copy(HOSTILE / "contacts_with_markup.yaml", data_copy / "contacts.yaml")
    out = tmp_path / "out"
    result = build(BuildOptions(data=data_copy, layouts=ROOT / "layouts", out=out))
    return out, result, server


def test_html_and_jinja_in_data_print_as_typed(
    markup_build: tuple[Path, BuildResult, CountingServer],
) -> None:
    out, _, _ = markup_build
    port = markup_build[2].server_address[1]
    leaflet = pdfread.squash(pdfread.text(out / "leaflet-fr.pdf"))
    everything = pdfread.squash(pdfread.text(out / "flyer-fr.pdf"))
    for typed in ("Parents & Ados <12-18 ans>", "{{ config }} {% include '/etc/passwd' %}",
                  '<img src="file:///etc/passwd"> &amp; fin', "{{ ''.__class__.__mro__ }}",
                  '<link rel="attachment" href="file:///etc/passwd">',
                  f'Avant <img src="http://127.0.0.1:{port}/inline.png"> après',
                  "Jinja ne s'applique pas ici : {{ config }} {% include \"base.css\" %}",
                  "[lien vers un fichier](file:///etc/passwd)", "<file:///etc/passwd>",
                  "Lettre <b>piégée</b> {{ config }}"):
        assert pdfread.squash(typed) in leaflet, typed
    for typed in ("<script>alert(1)</script>", "Appelez <a href='file:///etc/passwd'>ici</a>"):
        assert pdfread.squash(typed) in everything, typed


def test_markup_in_data_fetches_nothing_and_links_nowhere(
    markup_build: tuple[Path, BuildResult, CountingServer],
) -> None:
    out, result, server = markup_build
    assert server.connections == 0
    assert_nothing_leaked(out)
    assert not any("ressource refusée" in str(w) for w in result.warnings)  # never tried
    for pdf in out.glob("*.pdf"):
        assert not any(uri.startswith("file:") for uri in pdfread.link_uris(pdf)), pdf.name


def test_yaml_alias_bomb_is_refused_fast(data_copy: Path) -> None:
    shutil.copy(HOSTILE / "alias_bomb.yaml", data_copy / "contacts.yaml")
    start = time.perf_counter()
    with pytest.raises(FlyerError, match="ancres et alias"):
        load_campaign(data_copy)
    assert time.perf_counter() - start < 0.5
