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


def merge_pdfs(parts: list[tuple[str, bytes]], title: str, identifier: bytes) -> bytes:
    """Concatenate finished PDFs, one bookmark per part, without laying anything out again.

    For the office profile this is ~10× cheaper than painting every page a second time;
    it drops document-level conformance entries (output intents, structure tree), so
    profiles that claim PDF/X or PDF/UA merge with `merge_documents` instead.
    """
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject

    writer = PdfWriter()
    for label, content in parts:
        writer.append(PdfReader(io.BytesIO(content)), outline_item=label, import_outline=False)
    writer.add_metadata({"/Title": title, "/Producer": "flyer"})
    first = PdfReader(io.BytesIO(parts[0][1])).metadata
    if first is not None:
        writer.add_metadata({k: first[k] for k in ("/CreationDate", "/ModDate") if k in first})
    # A fixed ID keeps rebuilds byte-identical (pypdf would derive one from the time).
    writer._ID = ArrayObject([ByteStringObject(identifier), ByteStringObject(identifier)])
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
