"""What a person does in a real browser: Playwright driving Debian's Chromium.

Each test starts `flyer serve` on a free port in a child process, on its own copy of
data/ (the server folder is shared: builds are named by what they read). Locators are
roles and labels, as a screen reader finds them.

Screenshots of every page are taken on the way; set FLYER_SCREENS=docs/screens to keep
them for the README.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.pdfread import link_uris, qr_payloads
from tests.web.conftest import ROOT, SCHOOL_HEADERS, xlsx_of
from tests.web.test_serve_cli import start_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "cartable-bleu-42"
# A build with the preflight's QR read-back takes a few seconds; more on a busy machine.
BUILD_TIMEOUT = 180_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # The browser's own words (the file picker's button) in French, as people see them.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--lang=fr-BE"],
            env={**os.environ, "LANGUAGE": "fr_BE:fr", "LANG": "fr_BE.UTF-8"})
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("screens")
    yield folder
    keep = os.environ.get("FLYER_SCREENS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, Path(keep) / png.name)


@pytest.fixture(scope="module")
def served_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-out")


class Server:
    def __init__(self, data: Path, url: str, process: subprocess.Popen[str]) -> None:
        self.data, self.url, self.process = data, url, process


def serve(tmp_path: Path, out: Path, *args: str, env: dict[str, str] | None = None
          ) -> Iterator[Server]:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    work = tmp_path / "server"
    work.mkdir()
    (work / "out").symlink_to(out)
    process, url = start_server(work, "--data", str(data), *args, env=env)
    try:
        yield Server(data, url, process)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


@pytest.fixture
def server(tmp_path: Path, served_out: Path) -> Iterator[Server]:
    yield from serve(tmp_path, served_out, env={"FLYER_PASSWORD": ""})


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-BE", viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    # A CSP violation or a failed script shows here: the pages must have none. (A refused
    # save answers 409 or 422, a wrong password 401: Chromium notes those, as expected.)
    unexpected = [e for e in errors if not re.search(r"status of (401|409|422)\b", e)]
    assert unexpected == []


def wait_images(page: Page) -> None:
    """Every image in view loaded (previews are drawn on first request; the ones further
    down load when scrolled to)."""
    page.wait_for_function(
        """() => [...document.images]
            .filter(i => i.checkVisibility() && i.getBoundingClientRect().bottom > 0
                         && i.getBoundingClientRect().top < window.innerHeight)
            .every(i => i.complete && i.naturalWidth > 0)""",
        timeout=BUILD_TIMEOUT)


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_edit_a_phone_see_the_refusal_fix_it_and_save(server: Server, page: Page,
                                                      screens: Path) -> None:
    contacts = server.data / "contacts.yaml"
    before = contacts.read_text(encoding="utf-8")
    page.goto(server.url + "services")
    expect(page).to_have_title(re.compile("Services"))
    service = page.get_by_role("group", name="CPMS Libre Mouscron 2", exact=True)
    phone = service.get_by_label("Téléphone")
    expect(phone).to_have_value("056/39 16 01")
    wait_images(page)
    page.screenshot(path=screens / "services.png")

    phone.fill("056/39 16")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été enregistré")
    service = page.get_by_role("group", name="CPMS Libre Mouscron 2", exact=True)
    expect(service).to_contain_text("« 056/39 16 » n'est pas un numéro belge valide")
    expect(service.get_by_label("Téléphone")).to_have_value("056/39 16")
    expect(service.get_by_label("Téléphone")).to_have_attribute("aria-invalid", "true")
    assert contacts.read_text(encoding="utf-8") == before
    service.scroll_into_view_if_needed()
    page.screenshot(path=screens / "services-refus.png")

    service.get_by_label("Téléphone").fill("056/39 16 02")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Enregistré.")).to_be_visible()
    # The focus stays where the person was, on the button, now described as "Enregistré."
    save = page.get_by_role("button", name="Enregistrer", exact=True)
    expect(save).to_be_focused()
    expect(save).to_have_accessible_description("Enregistré.")
    after = contacts.read_text(encoding="utf-8")
    assert changed_lines(before, after) == ['-    phone: "056/39 16 01"',
                                            '+    phone: "056/39 16 02"']
    assert after.splitlines()[:5] == before.splitlines()[:5]  # the comments are still there
    expect(page.get_by_role("group", name="CPMS Libre Mouscron 2", exact=True)
           .get_by_label("Téléphone")).to_have_value("056/39 16 02")


def test_download_the_leaflet_and_read_back_its_links_and_qr_codes(
        server: Server, page: Page, screens: Path, tmp_path: Path) -> None:
    page.goto(server.url)
    school = page.get_by_role("region", name="Pour l'école")
    expect(school.get_by_role("link", name=re.compile(r"^Tout télécharger \(ZIP, "))
           ).to_be_visible(timeout=BUILD_TIMEOUT)
    expect(school).to_contain_text("10 codes QR relus sur 10")
    link = school.get_by_role("link", name="Télécharger leaflet-fr.pdf")
    assert (link.get_attribute("href") or "").endswith("/leaflet-fr.pdf")
    wait_images(page)
    page.screenshot(path=screens / "documents.png")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "leaflet-fr.pdf"
    leaflet = tmp_path / "leaflet-fr.pdf"
    download.value.save_as(leaflet)
    assert "tel:+3256391620" in link_uris(leaflet)
    codes = qr_payloads(leaflet, 150)
    assert len(codes[1]) == 10
    assert "mailto:cpms.libre.mouscron@skynet.be" in codes[1]


def test_a_file_changed_on_disk_is_not_overwritten(server: Server, page: Page,
                                                   screens: Path) -> None:
    contacts = server.data / "contacts.yaml"
    page.goto(server.url + "services")
    by_hand = contacts.read_text(encoding="utf-8").replace('"056/34 60 83"', '"056/34 60 84"')
    contacts.write_text(by_hand, encoding="utf-8")  # edited by hand after the page loaded
    service = page.get_by_role("group", name="CPMS Libre Mouscron 1", exact=True)
    service.get_by_label("Courriel").fill("nouvelle@skynet.be")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("modifiée ailleurs")
    expect(alert.get_by_role("link", name="rechargez la page")).to_have_attribute(
        "href", "/services")
    assert contacts.read_text(encoding="utf-8") == by_hand
    wait_images(page)
    page.screenshot(path=screens / "services-conflit.png")
    alert.get_by_role("link", name="rechargez la page").click()
    expect(page.get_by_role("group", name="La Passerelle", exact=True)
           .get_by_label("Téléphone")).to_have_value("056/34 60 84")


def test_keyboard_reaches_save_with_a_visible_focus(server: Server, page: Page) -> None:
    page.goto(server.url + "services")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.get_by_role("button", name="Enregistrer", exact=True).focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert style == "solid"


def test_a_cpms_worker_prepares_a_letter(server: Server, page: Page, screens: Path,
                                         tmp_path: Path) -> None:
    page.goto(server.url)
    cpms = page.get_by_role("region", name="Pour les CPMS")
    cpms.get_by_label("Service").select_option("La Passerelle")
    cpms.get_by_label("Personne de contact").fill("Mme Exemple")
    cpms.get_by_label("Date").fill("2026-03-02")
    cpms.get_by_label("Nederlands").check()
    cpms.get_by_role("button", name="Préparer la lettre").click()
    cpms = page.get_by_role("region", name="Pour les CPMS")
    link = cpms.get_by_role("link", name="Télécharger letter-nl.pdf")
    expect(link).to_be_visible(timeout=BUILD_TIMEOUT)
    cpms.evaluate("card => card.scrollIntoView()")
    wait_images(page)
    page.screenshot(path=screens / "documents-cpms.png")
    with page.expect_download() as download:
        link.click()
    letter = tmp_path / "letter-nl.pdf"
    download.value.save_as(letter)
    assert any(codes for codes in qr_payloads(letter, 150))


def test_the_letter_preview_follows_the_text(server: Server, page: Page, screens: Path) -> None:
    page.goto(server.url + "lettre")
    expect(page.get_by_role("img", name=re.compile("lettre, page 1"))).to_be_visible(
        timeout=BUILD_TIMEOUT)
    wait_images(page)
    page.screenshot(path=screens / "lettre.png")
    first = page.get_by_role("img", name=re.compile("lettre, page 1")).get_attribute("src")
    page.get_by_label("Titre").fill("Aux parents d'élèves de Mouscron")
    expect(page.get_by_role("img", name=re.compile("lettre, page 1"))).not_to_have_attribute(
        "src", first or "", timeout=BUILD_TIMEOUT)
    assert "Aux parents d'élèves" not in (server.data / "letter.fr.md").read_text(
        encoding="utf-8")
    page.get_by_label("Titre").fill("")
    expect(page.locator("#apercu")).to_contain_text("Titre : ne peut pas être vide",
                                                    timeout=BUILD_TIMEOUT)


def test_school_leaflets_from_an_excel_list(server: Server, page: Page, screens: Path,
                                            tmp_path: Path) -> None:
    listing = tmp_path / "ecoles.xlsx"
    listing.write_bytes(xlsx_of([
        SCHOOL_HEADERS,
        ["École fictive des Tilleuls", "CPMS Libre Mouscron 1", "Mme Exemple", "056/99 10 01",
         "tilleuls@ecole-fictive.be"],
        ["Athénée fictif du Beau-Site", "CPMS CF (Artem)", "M. Modèle", "056/99 10 02", None],
        ["École du Moulin", "CPMS de la Lune", None, None, None]]))
    page.goto(server.url + "ecoles")
    page.screenshot(path=screens / "ecoles.png")
    page.get_by_label("Liste des écoles (Excel .xlsx ou CSV)").set_input_files(listing)
    page.get_by_role("button", name="Préparer les dépliants").click()
    expect(page.get_by_role("status")).to_contain_text("2 dépliants préparés",
                                                       timeout=BUILD_TIMEOUT)
    row = page.get_by_role("row", name=re.compile("École du Moulin"))
    expect(row).to_contain_text("4")
    expect(row).to_contain_text("CPMS de la Lune")
    page.screenshot(path=screens / "ecoles-resultat.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Tous les dépliants")).click()
    assert download.value.suggested_filename == "depliants-ecoles.zip"


def test_with_a_password_the_app_asks_to_log_in(tmp_path: Path, served_out: Path,
                                                page: Page, screens: Path) -> None:
    for running in serve(tmp_path, served_out, env={"FLYER_PASSWORD": PASSWORD}):
        page.goto(running.url + "services")
        expect(page).to_have_title(re.compile("Connexion"))
        page.screenshot(path=screens / "connexion.png")
        page.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("alert")).to_contain_text("Mot de passe incorrect")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_title(re.compile("Services"))
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page).to_have_title(re.compile("Connexion"))
