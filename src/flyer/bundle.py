"""Putting rendered documents together: the merged print bundle.

Merging happens inside WeasyPrint (`Document.copy(pages)`), not by re-reading PDFs:
the pages are already laid out, and a merge done there keeps what a PDF merge would
drop (output intents, XMP metadata, structure tree) for the print and web profiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weasyprint import Document


def merge_documents(documents: list[Document], title: str) -> Document:
    """One document with every page of `documents`, in order, page sizes kept.

    Each layout marks exactly one element with `bookmark-level: 1`, so the merged
    file has one bookmark per document.
    """
    pages = [page for document in documents for page in document.pages]
    merged = documents[0].copy(pages)
    merged.metadata.title = title
    return merged
