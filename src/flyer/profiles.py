"""Print production profiles: what differs between office, press and web output.

A profile decides the output folder, the extra stylesheets linked after a document's
own (`layouts/<profile>.css`, then `layouts/<profile>-<document>.css` when present),
the colours of the QR modules, WeasyPrint's `pdf_variant`, and, for press, the CMYK
ICC profile with the output condition written next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyer.context import Style
from flyer.errors import FlyerError

PROFILES = ("office", "press", "web")

# The shipped CMYK profile: "ISO Coated v2 300% (Amethyst)", made with ArgyllCMS from
# the FOGRA39 characterization data, CC0 1.0 (layouts/icc/README.md).
DEFAULT_ICC = Path("icc") / "ISOcoated_v2_300_mth.icc"

REGISTRY = "http://www.color.org"
# Characterization data sets a profile description can name, with the output condition
# ISO 15930 asks for; a print shop's own profile of one of these gets the registered
# identifier, anything else is written as a custom condition named after the profile.
KNOWN_CONDITIONS = (
    (("FOGRA39", "ISO Coated v2", "ISOcoated_v2"), "FOGRA39",
     "Offset commercial and specialty printing according to ISO 12647-2:2004/Amd 1, "
     "OFCOM, paper type 1 or 2 = coated art, 115 g/m2, tone value increase curves "
     "A (CMY) and B (K)"),
    (("FOGRA51", "PSO Coated v3", "PSOcoated_v3"), "FOGRA51",
     "Offset printing according to ISO 12647-2:2013, premium coated paper (PC1), "
     "115 g/m2, tone value increase curves A (CMY) and A (K)"),
    (("FOGRA52", "PSO Uncoated v3", "PSOuncoated_v3"), "FOGRA52",
     "Offset printing according to ISO 12647-2:2013, wood-free uncoated paper (PC5), "
     "115 g/m2, tone value increase curves C (CMY) and C (K)"),
)


@dataclass(frozen=True)
class OutputCondition:
    """The PDF/X output intent entries that describe the embedded ICC profile."""

    identifier: str
    condition: str
    registry: str | None
    info: str


@dataclass(frozen=True)
class Profile:
    name: str
    folder: Path
    style: Style = field(default_factory=Style)
    pdf_options: dict[str, Any] = field(default_factory=dict)
    icc: Path | None = None
    condition: OutputCondition | None = None

    def stylesheets(self, layouts: Path, document: str) -> tuple[str, ...]:
        """The profile's stylesheets for `document` (a file name relative to layouts/)."""
        if self.name == "office":
            return ()
        names = [f"{self.name}.css", f"{self.name}-{document}.css"]
        return tuple(n for n in names if (layouts / n).is_file())


def make_profile(name: str, out: Path, layouts: Path, icc: Path | None = None) -> Profile:
    """The settings of profile `name`, writing into `out` (office) or `out/<name>/`."""
    if name == "office":
        return Profile("office", out)
    if name == "web":
        return Profile("web", out / "web", Style(profile="web"),
                       {"pdf_variant": "pdf/ua-1"})
    if name == "press":
        path = icc if icc is not None else layouts / DEFAULT_ICC
        condition = output_condition(path)
        black, white = "device-cmyk(0 0 0 1)", "device-cmyk(0 0 0 0)"
        return Profile("press", out / "press", Style(qr_color=black, qr_background=white,
                                                     profile="press"),
                       {"pdf_variant": "pdf/x-4"}, path, condition)
    raise FlyerError(f"profil « {name} » inconnu ; profils : {', '.join(PROFILES)}, all")


def output_condition(icc: Path) -> OutputCondition:
    """Read the ICC profile's description and say which output condition it is for.

    Refuses a profile that is not a CMYK output profile: PDF/X-4 with CMYK colours
    needs one, and WeasyPrint would otherwise embed it without complaint.
    """
    from PIL import ImageCms  # Pillow comes with WeasyPrint; only press builds pay for it

    if not icc.is_file():
        raise FlyerError("profil ICC introuvable", icc)
    try:
        profile = ImageCms.getOpenProfile(str(icc))
    except (OSError, ImageCms.PyCMSError):
        raise FlyerError("ce fichier n'est pas un profil ICC lisible", icc) from None
    space = profile.profile.xcolor_space.strip()
    if space != "CMYK" or profile.profile.device_class != "prtr":
        raise FlyerError(
            f"le profil ICC doit être un profil d'impression CMJN (trouvé : espace "
            f"{space}, classe {profile.profile.device_class})", icc)
    description = ImageCms.getProfileDescription(profile).strip() or icc.stem
    for names, identifier, condition in KNOWN_CONDITIONS:
        if any(n.lower() in (description + " " + icc.name).lower() for n in names):
            return OutputCondition(identifier, condition, REGISTRY, description)
    return OutputCondition(description, description, None, description)
