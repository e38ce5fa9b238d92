"""`flyer build --schools FILE.csv`: one leaflet per school, bad rows set aside, merged file."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from typer.testing import CliRunner

import flyer.build
import flyer.pool
from flyer.build import BuildOptions, build
from flyer.cli import app
from flyer.errors import FlyerError
from flyer.load import load_campaign
from flyer.qr import mailto_uri
from flyer.schools import load_schools, slugify

from . import pdfread

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONTACTS = load_campaign(ROOT / "data", ["fr"]).contacts.contacts
SERVICES = [c.name for c in CONTACTS]
MAILTOS = sorted(mailto_uri(c.email) for c in CONTACTS if c.email)
TILLEULS = "schools/ecole-fictive-des-tilleuls"
BEAU_SITE = "schools/athenee-fictif-du-beau-site"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """The CLI on the fixture with three bad rows, French and Dutch (4 leaflets: a pool)."""
    out = tmp_path_factory.mktemp("schools")
    result = CliRunner().invoke(app, [
        "build", "--schools", str(FIXTURES / "schools_with_bad_rows.csv"),
        "--data", str(ROOT / "data"), "--layouts", str(ROOT / "layouts"), "--out", str(out)])
    return out, result.exit_code, result.output


def test_bad_rows_are_set_aside_with_line_and_reason_and_exit_1(
    run: tuple[Path, int, str],
) -> None:
    _, code, output = run
    assert code == 1
    flat = " ".join(output.split())
    assert "2 construites, 3 écartées" in flat
    csv = FIXTURES / "schools_with_bad_rows.csv"
    for line, reason in ((3, "service : « CPMS Inexistant » inconnu"),
                         (4, "téléphone : « 05699100 » n'est pas un numéro belge valide"),
                         (5, "école : vide")):
        assert f"{csv}:{line}: {reason}" in output, line


def test_good_rows_get_their_own_leaflet_per_language(run: tuple[Path, int, str]) -> None:
    out = run[0]
    leaflets = sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))
    assert leaflets == sorted([
        f"{TILLEULS}/leaflet-fr.pdf", f"{TILLEULS}/leaflet-nl.pdf",
        f"{BEAU_SITE}/leaflet-fr.pdf", f"{BEAU_SITE}/leaflet-nl.pdf",
        "schools-fr.pdf", "schools-nl.pdf"])
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("lang", "label"), [("fr", "Votre école"), ("nl", "Uw school")])
def test_leaflet_names_the_school_its_contact_person_and_its_service(
    run: tuple[Path, int, str], lang: str, label: str,
) -> None:
    path = run[0] / TILLEULS / f"leaflet-{lang}.pdf"
    assert pdfread.page_sizes_mm(path) == [(210, 297), (210, 297)]
    text = pdfread.squash(pdfread.text(path))
    for value in (label.upper(), "École fictive des Tilleuls", "Mme Exemple", "056/99 10 01",
                  "tilleuls@ecole-fictive.be", "CPMS Libre Mouscron 1"):
        assert pdfread.squash(value) in text, value
    links = pdfread.link_uris(path)
    assert "tel:+3256991001" in links and "mailto:tilleuls@ecole-fictive.be" in links
    pages = pdfread.qr_payloads(path, 150)
    # Its service and the school's contact person, each with a readable code on the recto.
    assert pages[0] == ["mailto:cpms.libre.mouscron@skynet.be", "mailto:tilleuls@ecole-fictive.be"]
    assert sorted(pages[1]) == MAILTOS
    # The school's slot makes the French recto compact (layouts/leaflet.css): 10/12/9/12 mm.
    assert pdfread.chars_outside(path, (10, 12, 9, 12)) == []


def test_service_names_match_whatever_the_case(run: tuple[Path, int, str]) -> None:
    recto = pdfread.squash(pdfread.text(run[0] / BEAU_SITE / "leaflet-fr.pdf"))
    assert pdfread.squash("VOTRE CONTACT CPMS CF (Artem)") in recto


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_merged_file_has_every_school_in_order_with_a_bookmark_and_shared_objects(
    run: tuple[Path, int, str], lang: str,
) -> None:
    out = run[0]
    merged = out / f"schools-{lang}.pdf"
    assert pdfread.bookmarks(merged) == [("École fictive des Tilleuls", 0),
                                         ("Athénée fictif du Beau-Site", 2)]
    assert len(pdfread.page_sizes_mm(merged)) == 4
    parts = [out / TILLEULS / f"leaflet-{lang}.pdf", out / BEAU_SITE / f"leaflet-{lang}.pdf"]
    assert sorted(pdfread.link_uris(merged)) == sorted(
        u for p in parts for u in pdfread.link_uris(p))


def test_schools_of_one_service_share_its_leaflet_in_the_merged_file(tmp_path: Path) -> None:
    """The letter, the cards, their fonts and codes are stored once per service: each
    school adds only its block."""
    schools = tmp_path / "ecoles.csv"
    schools.write_text("school;service;contact;phone;email\n" + "".join(
        f"École fictive n° {i};CPMS Libre Mouscron 1;Mme Exemple;056/99 10 0{i};"
        f"ecole{i}@ecole-fictive.be\n" for i in range(1, 5)), encoding="utf-8")
    out = tmp_path / "out"
    build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out, langs=("fr",),
                       schools=schools))
    merged = out / "schools-fr.pdf"
    with pikepdf.open(merged) as pdf:
        rectos = [pdf.pages[i] for i in (0, 2, 4, 6)]
        shared = [{c.objgen for c in page.obj.Contents if c.objgen != (0, 0)}
                  for page in rectos]
        assert set.intersection(*shared), "each recto has its own copy of the letter"
        versos = {pdf.pages[i].obj.Contents.objgen if not isinstance(
            pdf.pages[i].obj.Contents, pikepdf.Array) else pdf.pages[i].obj.Contents[0].objgen
            for i in (1, 3, 5, 7)}
        assert len(versos) == 1
    one = (out / "schools/ecole-fictive-n-1/leaflet-fr.pdf").stat().st_size
    assert merged.stat().st_size < 2.5 * one  # four leaflets, each block adding ~15 kB
    assert sorted(set(pdfread.qr_payloads(merged, 150)[6])) == sorted(
        {"mailto:cpms.libre.mouscron@skynet.be", "mailto:ecole4@ecole-fictive.be"})


def test_load_schools_reads_excel_exports_and_sets_aside_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_bytes(
        "École,Service,Téléphone\r\n"
        "École fictive des Prés,CPMS Libre Mouscron 1,056/99 10 01\r\n"
        "ecole fictive des prés,CPMS Libre Mouscron 2,\r\n"
        ",,\r\n"
        "École fictive des Prés (annexe),CPMS Libre Mouscron 2,\r\n".encode("cp1252"))
    schools = load_schools(path, SERVICES)
    assert [(r.line, r.school.school, r.slug) for r in schools.rows] == [
        (2, "École fictive des Prés", "ecole-fictive-des-pres"),
        (5, "École fictive des Prés (annexe)", "ecole-fictive-des-pres-annexe")]
    assert schools.rows[0].school.phone is not None
    assert schools.rows[0].school.phone.uri == "tel:+3256991001"
    [duplicate] = schools.set_aside
    assert duplicate.problem.line == 3 and "figure déjà ligne 2" in duplicate.problem.message


def test_missing_or_unknown_columns_are_an_error_for_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_text("school;contact\nÉcole fictive;Mme Exemple\n", encoding="utf-8")
    with pytest.raises(FlyerError, match="colonne obligatoire manquante : service"):
        load_schools(path, SERVICES)
    path.write_text("school;service;telefon\n", encoding="utf-8")
    with pytest.raises(FlyerError, match="colonne inconnue « telefon »"):
        load_schools(path, SERVICES)


def test_slugs_are_plain_ascii_folder_names() -> None:
    assert slugify("Athénée fictif du Beau-Site") == "athenee-fictif-du-beau-site"
    assert slugify("École n° 3 / «annexe»") == "ecole-n-3-annexe"


@pytest.mark.parametrize("processes", [1, 2])
def test_interrupted_batch_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         processes: int) -> None:
    """Ctrl-C reaches the parent (workers ignore SIGINT): here, between two jobs."""
    monkeypatch.setattr(flyer.pool, "workers_available", lambda: processes)
    monkeypatch.setattr(flyer.build, "SCHOOLS_PER_TASK", 1)
    ticks: list[int] = []

    def interrupt(done: int, total: int) -> None:
        ticks.append(done)
        if done == 2:
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        build(BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                           langs=("fr",), schools=ROOT / "data/examples/schools.csv"),
              tick=interrupt)
    assert ticks == [0, 1, 2]
    assert not out.exists() or not [p for p in out.rglob("*") if p.is_file()]


def test_shipped_example_builds_every_school() -> None:
    rows = load_schools(ROOT / "data/examples/schools.csv", SERVICES)
    assert rows.rows and not rows.set_aside
    assert all("fictif" in r.school.school or "fictive" in r.school.school
               or "imaginaire" in r.school.school or "inventé" in r.school.school
               for r in rows.rows)


def test_xlsx_list_with_french_headers_and_a_phone_excel_made_a_number() -> None:
    schools = load_schools(FIXTURES / "schools_french_headers.xlsx", SERVICES)
    assert [(r.line, r.slug) for r in schools.rows] == [
        (2, "ecole-fictive-des-tilleuls"), (4, "athenee-fictif-du-beau-site")]
    tilleuls = schools.rows[0].school
    assert tilleuls.contact == "Mme Exemple" and tilleuls.phone is not None
    assert (tilleuls.phone.text, tilleuls.phone.uri) == ("056 99 10 01", "tel:+3256991001")
    [repaired] = schools.warnings
    assert (repaired.line, repaired.field) == (2, "Téléphone")
    assert "le « 0 » du début manquait" in repaired.message
    [unknown] = schools.set_aside
    assert unknown.problem.line == 3 and "« CPMS Inexistant » inconnu" in unknown.problem.message


def test_csv_phone_without_its_zero_is_repaired_like_the_contacts(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_text("école;service;téléphone\nÉcole A;CPMS Libre Mouscron 1;56/99 10 01\n",
                    encoding="utf-8")
    schools = load_schools(path, SERVICES)
    assert [r.school.phone.text for r in schools.rows if r.school.phone] == ["056/99 10 01"]
    assert [w.line for w in schools.warnings] == [2]


def test_two_long_names_sharing_their_start_are_two_schools(tmp_path: Path) -> None:
    start = "Institut d'enseignement secondaire fictif de la ville imaginaire de Mouscron"
    path = tmp_path / "ecoles.csv"
    path.write_text(f"école;service\n{start}, section A;CPMS Libre Mouscron 1\n"
                    f"{start}, section B;CPMS Libre Mouscron 1\n"
                    "École n°3;CPMS Libre Mouscron 1\nÉcole n 3;CPMS Libre Mouscron 1\n",
                    encoding="utf-8")
    schools = load_schools(path, SERVICES)
    assert schools.set_aside == []
    slugs = [r.slug for r in schools.rows]
    assert len(set(slugs)) == 4 and all(len(s) <= 60 for s in slugs)


def test_school_name_without_letters_gets_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_text("école;service\n😀;CPMS Libre Mouscron 1\n!!!;CPMS Libre Mouscron 1\n",
                    encoding="utf-8")
    slugs = [r.slug for r in load_schools(path, SERVICES).rows]
    assert len(set(slugs)) == 2 and all(s.startswith("ecole-") for s in slugs)


def test_too_long_school_name_is_set_aside_in_french(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_text(f"école;service\n{'É' * 300};CPMS Libre Mouscron 1\n", encoding="utf-8")
    [aside] = load_schools(path, SERVICES).set_aside
    assert aside.problem.message == (
        "école : trop long (300 caractères, maximum 160 caractères) ; raccourcissez le texte")


def test_separator_inside_a_name_is_still_a_set_aside_row(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_text("école;service\nÉcole A; annexe;CPMS Libre Mouscron 1\n", encoding="utf-8")
    [aside] = load_schools(path, SERVICES).set_aside
    assert aside.problem.line == 2 and "« ; » de trop dans un nom" in aside.problem.message


def test_mixed_encodings_in_the_schools_list_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.csv"
    path.write_bytes("école;service\nÉcole A;CPMS Libre Mouscron 1\n".encode()
                     + "École B;CPMS Libre Mouscron 1\n".encode("cp1252"))
    with pytest.raises(FlyerError) as caught:
        load_schools(path, SERVICES)
    assert caught.value.line == 3 and "mélange deux encodages" in str(caught.value)


def test_other_spreadsheet_format_for_schools_says_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "ecoles.ods"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(FlyerError, match="Enregistrer sous → Classeur Excel"):
        load_schools(path, SERVICES)


def test_press_school_leaflets_are_pdf_x4_that_flyer_check_accepts(tmp_path: Path) -> None:
    """The file for the print shop is made for the print shop: CMYK, bleed, crop marks."""
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "build", "--schools", str(ROOT / "data/examples/schools.csv"), "--profile", "press",
        "--lang", "fr", "--data", str(ROOT / "data"), "--layouts", str(ROOT / "layouts"),
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    press = out / "press"
    assert (press / "schools-fr.pdf").is_file()
    assert len(list((press / "schools").glob("*/leaflet-fr.pdf"))) == 6
    checked = CliRunner().invoke(app, ["check", "--profile", "press", str(press)],
                                 env={"COLUMNS": "200"})
    assert checked.exit_code == 0, checked.output
    assert "7 fichier(s)" in checked.output and "prêt" in checked.output
    with pikepdf.open(press / "schools-fr.pdf") as pdf:
        assert "/OutputIntents" in pdf.Root and len(pdf.pages) == 12
        for page in pdf.pages:
            trim = [float(v) for v in page.obj.TrimBox]
            media = [float(v) for v in page.mediabox]
            assert media[0] < trim[0] - 3 * 72 / 25.4  # room for bleed and crop marks


def test_a_school_removed_from_the_list_loses_its_leaflet_and_nothing_else(
        tmp_path: Path) -> None:
    """Its leaflet from the earlier run would be printed with the others: it goes, with its
    folder; a person's own file in the output folder stays."""
    schools = tmp_path / "ecoles.csv"
    rows = (ROOT / "data/examples/schools.csv").read_text(encoding="utf-8").splitlines()
    schools.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    options = BuildOptions(data=ROOT / "data", layouts=ROOT / "layouts", out=out,
                           langs=("fr",), schools=schools)
    build(options)
    (out / "mes-notes.txt").write_text("à garder", encoding="utf-8")
    gone = out / TILLEULS / "leaflet-fr.pdf"
    assert gone.is_file()
    schools.write_text("\n".join(r for r in rows if "Tilleuls" not in r) + "\n",
                       encoding="utf-8")
    result = build(options)
    assert result.removed == [gone]
    assert not gone.parent.exists()
    assert (out / BEAU_SITE / "leaflet-fr.pdf").is_file()
    assert (out / "mes-notes.txt").read_text(encoding="utf-8") == "à garder"
    assert next(t for t, _ in pdfread.bookmarks(out / "schools-fr.pdf")) == \
        "Athénée fictif du Beau-Site"


def test_a_press_leaflet_for_a_school_without_a_contact_person_is_made(
        tmp_path: Path) -> None:
    """Its block holds the school's name alone, in the accent colour: the leaflet's running
    text is still black, and the print shop's file must not be refused for it (it was,
    and with it the whole batch)."""
    listing = tmp_path / "ecoles.csv"
    listing.write_text("school;service;contact;phone;email\n"
                       "École communale fictive du Centre n° 190;La Passerelle;;;\n"
                       "École des Tilleuls;La Passerelle;Mme Exemple;056/99 10 01;\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "build", "--schools", str(listing), "--profile", "press", "--lang", "fr", "--no-cache",
        "--data", str(ROOT / "data"), "--layouts", str(ROOT / "layouts"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    leaflet = out / "press/schools/ecole-communale-fictive-du-centre-n-190/leaflet-fr.pdf"
    # The file as written, read back whole: its running text is K only.
    from flyer.check import BLACK_TEXT, check_pdf

    [black] = [c for c in check_pdf(leaflet, str(leaflet), "press", render=False)
               if c.label == BLACK_TEXT]
    assert black.ok, black


def test_rich_black_in_a_school_block_is_still_refused(tmp_path: Path,
                                                      layouts_copy: Path) -> None:
    with (layouts_copy / "leaflet.css").open("a", encoding="utf-8") as css:
        css.write("\n.school-slot .name { color: device-cmyk(0.5 0.4 0.4 1); }\n")
    listing = tmp_path / "ecoles.csv"
    listing.write_text("school;service\nÉcole des Tilleuls;La Passerelle\n", encoding="utf-8")
    result = CliRunner().invoke(app, [
        "build", "--schools", str(listing), "--profile", "press", "--lang", "fr", "--no-cache",
        "--data", str(ROOT / "data"), "--layouts", str(layouts_copy), "--out",
        str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "noir quadri : 0.5 0.4 0.4 1" in result.output


def test_each_services_shared_leaflet_is_made_once_and_handed_to_every_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listing = tmp_path / "ecoles.csv"
    listing.write_text("school;service\n" + "".join(
        f"École fictive n° {i};{SERVICES[i % 2]}\n" for i in range(6)), encoding="utf-8")
    planned = flyer.build.plan(BuildOptions(
        data=ROOT / "data", layouts=ROOT / "layouts", out=tmp_path / "out", langs=("fr",),
        schools=listing, cache=False))
    todo = list(range(len(planned.jobs)))
    bases: dict[str, bytes] = {}
    workers = flyer.pool.Workers(2, schools=True)
    try:
        shared = flyer.build._share_bases(planned, todo, workers, tmp_path, None, bases)
    finally:
        workers.close()
    assert len(shared) == 2 == len(bases)  # two services
    steps = planned.registry.documents["leaflet"].fit
    for key, base in shared.items():
        assert base.path.read_bytes() == bases[key]
        assert base.fit in [steps[:n] for n in range(len(steps) + 1)]
        assert base.checks and all(c.ok for c in base.checks)
    # A worker given them lays out the schools' blocks only, never a shared leaflet.
    laid_out: list[bool] = []
    fitted = flyer.build.Workshop._fitted

    def counted(self: object, *args: object, **kwargs: object) -> object:
        laid_out.append(True)
        return fitted(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(flyer.build.Workshop, "_fitted", counted)
    outputs = flyer.build.run_task(planned.work, planned.jobs, False, shared)
    assert laid_out == []
    assert all(o.files and not o.base and o.set_aside is None for o in outputs)
