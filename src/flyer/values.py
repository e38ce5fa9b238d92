"""A typed value checked the same way by the data model (flyer.model) and by the
preflight of a written file (flyer.check): an e-mail address. Without pydantic, so that a
render worker checks the links it wrote without loading the model.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def parse_email(value: object) -> str:
    """Accept exactly one bare address; say what to remove otherwise."""
    if not isinstance(value, str):
        raise ValueError("doit être une adresse écrite comme texte, par exemple « nom@exemple.be »")
    text = value.strip()
    if text.lower().startswith("mailto:"):
        raise ValueError(f"retirez « mailto: » : écrivez seulement « {text[7:].strip()} »")
    if "<" in text or ">" in text or '"' in text:
        raise ValueError(
            f"« {text} » contient un nom ou des chevrons ; écrivez seulement l'adresse, "
            "par exemple « nom@exemple.be »"
        )
    if any(sep in text for sep in (",", ";")) or text.count("@") > 1:
        raise ValueError(
            f"« {text} » contient plusieurs adresses ; une seule adresse par service"
        )
    if any(ch.isspace() for ch in text):
        raise ValueError(f"« {text} » contient une espace ; une adresse n'en a jamais")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(
            f"« {text} » n'est pas une adresse de courriel valide ; "
            "il faut la forme nom@domaine.be"
        ) from None
    return result.normalized
