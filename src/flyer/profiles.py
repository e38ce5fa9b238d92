"""The CMYK output condition of a press profile, read from its ICC file.

What a profile is (variant, colour, bleed, links…) is data in `layouts/profiles.yaml`
(flyer.documents); this module reads the ICC profile a CMYK profile names, or the print
shop's own (`--icc`), refuses one that is not a CMYK output profile, and says which
output condition (FOGRA39…) the PDF/X output intent must declare for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flyer.errors import FlyerError

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
