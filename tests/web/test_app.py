"""Routes of `flyer serve`, through Starlette's test client, on a copy of data/."""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
import time
import zipfile
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from flyer.web.server import ServeConfig
from tests.web.conftest import ROOT, SCHOOL_HEADERS, hash_of, token_of, xlsx_of


def page(response: object) -> str:
    """A page's text as a person reads it (entities such as &#39; decoded)."""
    import html as html_module

    return html_module.unescape(getattr(response, "text", ""))


def wait_for(client: TestClient, url: str, done: str, timeout: float = 180) -> str:
    """GET `url` until its page contains `done` (a build finishing in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        html = client.get(url).text
        if done in html:
            return html
        assert time.monotonic() < deadline, f"{url} never showed {done!r}:\n{html[-2000:]}"
        time.sleep(0.3)


def services_form(html: str) -> dict[str, str]:
    """The fields of the services form as the page has them (what a browser would post)."""
    fields: dict[str, str] = {}
    for name, value in re.findall(r'<input id="[^"]*" name="(service-[^"]+)" type="[^"]+" '
                                  r'value="([^"]*)"', html):
        fields[name] = _unescape(value)
    for name, value in re.findall(r'name="(service-\d+-origin)" value="([^"]*)"', html):
        fields[name] = value
    for name, value in re.findall(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>\n(.*?)</textarea>',
                                  html, re.S):
        fields[name] = _unescape(value)
    fields["jeton"] = token_of(html)
    fields["hash"] = hash_of(html)
    return fields


def _unescape(value: str) -> str:
    import html as html_module

    return html_module.unescape(value)


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


class Fields(HTMLParser):
    """Every form control of a page, and the labels' `for`, to check that each has a label."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[tuple[str, str | None]] = []
        self.labels: set[str] = set()
        self.inline_code: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag in ("input", "select", "textarea") and a.get("type") not in (
                "hidden", "submit", "button"):
            self.controls.append((tag, a.get("id")))
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")
        if "style" in a or any(k.startswith("on") for k in a):
            self.inline_code.append(f"{tag} {a}")
        if tag == "script" and "src" not in a:
            self.inline_code.append("inline <script>")
        if tag == "style":
            self.inline_code.append("<style>")


def check_page(html: str) -> None:
    page = Fields()
    page.feed(html)
    assert page.html_lang == "fr"
    unlabelled = [c for c in page.controls if c[1] not in page.labels]
    assert unlabelled == []
    assert page.inline_code == []  # the CSP forbids them


# --- Documents ------------------------------------------------------------------------

def test_school_card_lists_each_file_with_preview_download_and_qr_readback(
        client: TestClient) -> None:
    html = wait_for(client, "/", "Tout télécharger")
    check_page(html)
    assert "10 codes QR relus sur 10" in html
    links = re.findall(r'href="(/telecharger/ecole/[^"]+)"', html)
    assert "/telecharger/ecole/leaflet-fr.pdf" in links
    assert "/telecharger/ecole/leaflet-a5-2up-nl.pdf" in links
    response = client.get("/telecharger/ecole/leaflet-fr.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert 'filename="leaflet-fr.pdf"' in response.headers["content-disposition"]
    preview = re.search(r'src="(/apercu/[0-9a-f]{64}/1-petit\.png)"', html)
    assert preview
    image = client.get(preview.group(1))
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/telecharger/ecole/flyer-ecole.zip").content))
    assert "leaflet-a5-2up-fr.pdf" in archive.namelist()


def test_a_download_is_looked_up_in_the_build_table_never_a_path(client: TestClient) -> None:
    wait_for(client, "/", "Tout télécharger")
    for url in ("/telecharger/ecole/manifest.json", "/telecharger/ecole/..%2Fmanifest.json",
                "/telecharger/ecole/%2E%2E%2F%2E%2E%2Fsession-key",
                "/telecharger/inconnu/leaflet-fr.pdf", "/apercu/" + "0" * 64 + "/1-petit.png",
                "/apercu/" + "0" * 64 + "/1-enorme.png"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Cette page n'existe pas" in page(response)


def test_print_shop_files_are_prepared_on_request(client: TestClient) -> None:
    html = client.get("/").text
    assert 'href="/?preparer=imprimeur#imprimeur"' in html
    client.get("/?preparer=imprimeur")
    html = wait_for(client, "/carte/imprimeur", "Tout télécharger")
    assert "PDF/X-4" in html
    assert '/telecharger/imprimeur/poster-fr.pdf"' in html
    pdf = client.get("/telecharger/imprimeur/poster-fr.pdf").content
    assert b"GTS_PDFXVersion" in pdf or b"PDF/X" in pdf
    # Its size, before downloading it: every PDF/X file embeds its colour profile, and a
    # ZIP this heavy does not go through most mail services.
    match = re.search(r"Tout télécharger \(ZIP, (\d+),(\d) Mo\)", html)
    assert match, html
    archive = client.get("/telecharger/imprimeur/flyer-imprimeur.zip").content
    assert abs(len(archive) / 1024 / 1024 - float(f"{match[1]}.{match[2]}")) < 0.5
    assert "trop lourd pour un courriel" in html
    office = wait_for(client, "/carte/ecole", "Tout télécharger")
    assert "trop lourd pour un courriel" not in office


def test_cpms_letter_is_built_for_the_chosen_service(client: TestClient) -> None:
    query = "?service=La+Passerelle&personne=Mme+Exemple&date=2026-03-02&langue=fr"
    html = wait_for(client, "/carte/cpms" + query, "Tout télécharger")
    assert f'/telecharger/cpms/letter-fr.pdf{query.replace("&", "&amp;")}"' in html
    response = client.get("/telecharger/cpms/letter-fr.pdf" + query)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_cpms_form_refuses_an_unknown_service_in_french(client: TestClient) -> None:
    html = page(client.get("/?service=Inconnu&date=31/02/2026"))
    assert "Choisissez un service de la liste." in html
    date_error = re.search(r'<p class="error" id="date-error">(.*?)</p>', html, re.S)
    assert date_error and "31/02/2026" in date_error.group(1)  # the model's own message
    assert client.get("/telecharger/cpms/letter-fr.pdf?service=Inconnu").status_code == 404


# --- Services -------------------------------------------------------------------------

def test_services_page_has_a_labelled_fieldset_per_service(client: TestClient) -> None:
    html = client.get("/services").text
    check_page(html)
    assert "<legend>CPMS Libre Mouscron 1</legend>" in html
    assert html.count('<fieldset class="service"') == 10
    for label in ("Nom", "Téléphone", "Courriel", "Description", "Description (nl)"):
        assert f">{label}</label>" in html
    assert "Enregistrer</button>" in html
    assert "J'ai vérifié les coordonnées aujourd'hui" in html


def test_a_refused_phone_is_shown_next_to_its_field_and_nothing_is_written(
        client: TestClient, config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    before = path.read_bytes()
    fields = services_form(client.get("/services").text)
    fields["service-1-phone"] = "056/39 16"
    response = client.post("/services", data={**fields, "action": "save"})
    assert response.status_code == 422
    assert 'value="056/39 16"' in response.text
    assert "« 056/39 16 » n'est pas un numéro belge valide" in page(response)
    assert 'aria-invalid="true"' in response.text
    assert re.search(r'id="service-1-phone"[^>]*autofocus', response.text)  # focus goes there
    assert path.read_bytes() == before
    assert not (config.data / ".history").exists()


def test_saving_one_phone_changes_only_that_line(client: TestClient,
                                                 config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    before = path.read_text(encoding="utf-8")
    fields = services_form(client.get("/services").text)
    fields["service-2-phone"] = "056/48 18 91"
    response = client.post("/services", data={**fields, "action": "save"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert changed_lines(before, path.read_text(encoding="utf-8")) == [
        '-    phone: "056/48 18 90"', '+    phone: "056/48 18 91"']
    assert "Enregistré." in client.get(response.headers["location"]).text
    history = list((config.data / ".history").iterdir())
    assert [p.read_text(encoding="utf-8") for p in history] == [before]


def test_a_save_is_refused_when_the_file_changed_since_the_page(
        client: TestClient, config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    fields = services_form(client.get("/services").text)
    by_hand = path.read_text(encoding="utf-8").replace("056/34 60 83", "056/34 60 84")
    path.write_text(by_hand, encoding="utf-8")
    fields["service-0-phone"] = "056/39 16 21"
    response = client.post("/services", data={**fields, "action": "save"})
    assert response.status_code == 409
    assert "Rien n'a été enregistré" in response.text
    assert 'href="/services">rechargez la page' in response.text
    assert 'value="056/39 16 21"' in response.text  # what the person typed is still there
    assert path.read_text(encoding="utf-8") == by_hand


def test_verified_today_sets_the_date_and_clears_the_stale_banner(
        client: TestClient, config: ServeConfig) -> None:
    html = client.get("/services").text
    assert "Cela fait plus d'un an" in html
    client.post("/services", data={**services_form(html), "action": "verified"})
    text = (config.data / "contacts.yaml").read_text(encoding="utf-8")
    assert f"updated: {dt.date.today().isoformat()}\n" in text
    assert "Cela fait plus d'un an" not in client.get("/services").text


def test_add_remove_and_move_change_the_page_until_saved(client: TestClient,
                                                         config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    before = path.read_bytes()
    fields = services_form(client.get("/services").text)
    moved = client.post("/services", data={**fields, "action": "down:0"}).text
    assert moved.index("<legend>CPMS Libre Mouscron 2</legend>") < moved.index(
        "<legend>CPMS Libre Mouscron 1</legend>")
    assert 'id="service-1-down" autofocus' in moved  # the button pressed keeps the focus
    removed = client.post("/services", data={**services_form(moved), "action": "remove:9"}).text
    assert "<legend>Le Pôle égalité des chances</legend>" not in removed
    added = client.post("/services", data={**services_form(removed), "action": "add"}).text
    assert "<legend>Nouveau service</legend>" in added
    assert path.read_bytes() == before
    fields = services_form(added)
    fields.update({"service-9-name": "Maison de quartier", "service-9-phone": "056/11 22 33"})
    client.post("/services", data={**fields, "action": "save"})
    text = path.read_text(encoding="utf-8")
    assert text.index("CPMS Libre Mouscron 2") < text.index("CPMS Libre Mouscron 1")
    assert "égalité des chances" not in text
    assert text.endswith('  - name: Maison de quartier\n    phone: "056/11 22 33"\n')


def test_an_earlier_version_can_be_restored(client: TestClient, config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    original = path.read_bytes()
    fields = services_form(client.get("/services").text)
    fields["service-0-email"] = "autre@skynet.be"
    client.post("/services", data={**fields, "action": "save"})
    html = client.get("/services").text
    version = re.search(r'name="version" value="([^"]+)"', html)
    assert version
    response = client.post("/versions", data={
        "jeton": token_of(html), "hash": hash_of(html), "fichier": "contacts.yaml",
        "version": version.group(1)})
    assert "La version précédente a été rétablie" in response.text
    assert path.read_bytes() == original


def test_contacts_from_a_spreadsheet_are_shown_read_only(client: TestClient,
                                                         config: ServeConfig) -> None:
    (config.data / "contacts.yaml").unlink()
    (config.data / "contacts.csv").write_bytes(
        (ROOT / "tests" / "fixtures" / "contacts_excel_cp1252.csv").read_bytes())
    html = client.get("/services").text
    assert "Les services sont lus dans le tableur « contacts.csv »" in html
    assert "<fieldset class=\"service\" disabled>" in html
    assert "Enregistrer" not in html


def test_a_contacts_file_broken_by_hand_is_explained_with_its_line(
        client: TestClient, config: ServeConfig) -> None:
    path = config.data / "contacts.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - name: La Passerelle", "  - name: La Passerelle : accueil"), encoding="utf-8")
    html = client.get("/services").text
    assert "contacts.yaml, ligne" in html
    assert "Versions précédentes" in html


# --- Lettre ---------------------------------------------------------------------------

def test_letter_page_edits_front_matter_and_body(client: TestClient, config: ServeConfig) -> None:
    html = client.get("/lettre?langue=fr").text
    check_page(html)
    for label in ("Titre", "Message", "Appel à agir", "Texte de la lettre"):
        assert f">{label}</label>" in html
    path = config.data / "letter.fr.md"
    before = path.read_text(encoding="utf-8")
    body = re.search(r'<textarea id="body" name="body"[^>]*>\n(.*?)</textarea>', html, re.S)
    assert body
    form = {"jeton": token_of(html), "hash": hash_of(html),
            "title": "Aux parents", "headline": re.search(
                r'name="headline"[^>]*>\n(.*?)</textarea>', html, re.S).group(1),  # type: ignore[union-attr]
            "call_to_action": "Appelez un service.",
            "body": _unescape(body.group(1)).replace("\n", "\r\n"), "action": "save"}
    form["headline"] = _unescape(form["headline"])
    client.post("/lettre?langue=fr", data=form)
    after = path.read_text(encoding="utf-8")
    assert sorted(changed_lines(before, after)) == sorted([
        "-title: A l'attention des parents dont les jeunes sont victimes de harcèlement sur "
        "Internet", "-call_to_action: \"Vous n'êtes pas seul : appelez l'un de ces services, "
        "ou scannez son code pour lui écrire.\"",
        "+title: Aux parents", '+call_to_action: "Appelez un service."'])


def test_letter_preview_follows_unsaved_text_and_refuses_an_empty_title(
        client: TestClient, config: ServeConfig) -> None:
    html = client.get("/lettre?langue=nl").text
    assert "Traduction relue par une personne de langue maternelle" in html
    form = {"jeton": token_of(html), "title": "", "headline": "x", "call_to_action": "y",
            "body": "Tekst."}
    refused = client.post("/lettre/apercu?langue=nl", data=form).text
    assert "Titre : ne peut pas être vide" in refused
    form["title"] = "Nieuwe titel"
    preview = client.post("/lettre/apercu?langue=nl", data=form).text
    if "se prépare" in preview:
        poll = re.search(r'hx-get="([^"]+)"', preview)
        assert poll
        preview = wait_for(client, _unescape(poll.group(1)), "<img")
    assert re.search(r'src="/apercu/[0-9a-f]{64}/1-grand\.png"', preview)
    assert "Nieuwe titel" not in (config.data / "letter.nl.md").read_text(encoding="utf-8")


# --- Écoles ---------------------------------------------------------------------------

def test_a_school_list_from_excel_builds_good_rows_and_explains_bad_ones(
        client: TestClient) -> None:
    listing = xlsx_of([
        SCHOOL_HEADERS,
        ["École des Tilleuls", "CPMS Libre Mouscron 1", "Mme Exemple", "056/99 10 01",
         "tilleuls@ecole-fictive.be"],
        ["École du Moulin", "CPMS Inconnu", None, None, None],
        ["Athénée du Beau-Site", "La Passerelle", None, "056/99", None]])
    html = client.get("/ecoles").text
    check_page(html)
    response = client.post("/ecoles", data={"jeton": token_of(html)}, files={
        "liste": ("ecoles.xlsx", listing,
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        follow_redirects=False)
    assert response.status_code == 303
    result = wait_for(client, response.headers["location"], "Télécharger")
    assert "1 dépliant préparé, 2 lignes mises de côté" in result
    # Each language named as a French sentence names it.
    assert "un seul fichier, en français (schools-fr.pdf" in result
    assert "un seul fichier, en néerlandais (schools-nl.pdf" in result
    assert re.search(r"<td>3</td><td>École du Moulin</td><td>[^<]*CPMS Inconnu", result)
    assert re.search(r"<td>4</td><td>Athénée du Beau-Site</td><td>[^<]*téléphone", result)
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        response.headers["location"] + "/depliants-ecoles.zip").content))
    assert "ecole-des-tilleuls/leaflet-fr.pdf" in archive.namelist()
    merged = client.get(response.headers["location"] + "/schools-fr.pdf")
    assert merged.content.startswith(b"%PDF")


def test_one_school_without_a_spreadsheet(client: TestClient) -> None:
    html = client.get("/ecoles").text
    check_page(html)
    refused = client.post("/ecoles/une", data={"jeton": token_of(html), "school": "",
                                                "service": "La Passerelle"})
    assert refused.status_code == 422
    assert re.search(r'id="school-error">.*obligatoire', refused.text)
    response = client.post("/ecoles/une", follow_redirects=False, data={
        "jeton": token_of(html), "school": "École fictive des Tilleuls",
        "service": "La Passerelle", "contact": "Mme Exemple", "phone": "056/99 10 01",
        "email": ""})
    assert response.status_code == 303
    result = wait_for(client, response.headers["location"], "Télécharger")
    assert "1 dépliant préparé" in result
    assert "/ecole-fictive-des-tilleuls/leaflet-fr.pdf" in result


def test_an_upload_over_the_cap_is_refused_before_it_is_read(client: TestClient) -> None:
    html = client.get("/ecoles").text
    big = b"school;service\n" + b"x" * (3 * 1024 * 1024)
    response = client.post("/ecoles", data={"jeton": token_of(html)},
                           files={"liste": ("ecoles.csv", big, "text/csv")})
    assert response.status_code == 413
    assert "Fichier trop gros" in response.text


# --- safety ---------------------------------------------------------------------------

def test_every_page_carries_the_content_security_policy(client: TestClient) -> None:
    for url in ("/", "/services", "/lettre", "/ecoles", "/inconnu"):
        response = client.get(url)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_post_without_the_form_token_is_refused(client: TestClient,
                                                  config: ServeConfig) -> None:
    before = (config.data / "contacts.yaml").read_bytes()
    fields = services_form(client.get("/services").text)
    fields["service-0-phone"] = "056/39 16 21"
    del fields["jeton"]
    response = client.post("/services", data={**fields, "action": "save"})
    assert response.status_code == 403
    assert "rechargez-la" in response.text
    assert (config.data / "contacts.yaml").read_bytes() == before


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"},
                                     {"sec-fetch-site": "cross-site"}, {"origin": "null"}])
def test_a_cross_site_post_is_refused(client: TestClient, config: ServeConfig,
                                      headers: dict[str, str]) -> None:
    before = (config.data / "contacts.yaml").read_bytes()
    fields = services_form(client.get("/services").text)
    fields["service-0-phone"] = "056/39 16 21"
    response = client.post("/services", data={**fields, "action": "save"}, headers=headers)
    assert response.status_code == 403
    assert (config.data / "contacts.yaml").read_bytes() == before


def test_another_host_name_is_refused_on_a_local_server(config: ServeConfig) -> None:
    from flyer.web.app import create_app

    with TestClient(create_app(config), base_url="http://attacker.example") as other:
        assert other.get("/services").status_code == 400


def test_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    cookie = client.get("/services").headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()


def test_static_files_are_served_from_the_package(client: TestClient) -> None:
    assert client.get("/static/flyer.css").status_code == 200
    htmx = client.get("/static/htmx-2.0.11.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:200]

