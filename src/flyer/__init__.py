"""flyer: a public-service letter and contact list, rendered into print-ready PDFs."""

__version__ = "0.1.0"
