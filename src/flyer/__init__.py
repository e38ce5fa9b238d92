"""flyer: a public-service letter and contact list, rendered into print-ready PDFs."""

from __future__ import annotations

import sys
from typing import Any

__version__ = "0.1.0"


class _BeforeWeasyPrint:
    """Asked first for every import: when `weasyprint` comes, it sets up the fast library
    lookup (flyer.startup: 0.2 to 0.3 s of WeasyPrint's import) and leaves. A command that never
    imports WeasyPrint (`flyer --help`) pays nothing for it."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> None:
        if name == "weasyprint":
            if cls in sys.meta_path:
                sys.meta_path.remove(cls)
            from flyer.startup import install_compiled_declarations, install_library_lookup

            install_library_lookup()
            install_compiled_declarations()
        # None: the import itself goes on as usual, with the other finders.


if "weasyprint" not in sys.modules and _BeforeWeasyPrint not in sys.meta_path:
    sys.meta_path.insert(0, _BeforeWeasyPrint)
