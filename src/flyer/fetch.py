"""The one URL fetcher every WeasyPrint object uses.

WeasyPrint's default fetcher reads any `file:` URL and any http(s) URL and follows
redirects: a data file or a layout pack could embed `/etc/passwd` into a PDF or call an
internal address. This one answers only `data:` URLs and regular files inside the
folders it is given (paths resolved, so `../` and symlinks out are refused), caps
sizes, checks image dimensions before WeasyPrint decodes them, and says no with a
warning naming the URL.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

LOGGER = logging.getLogger("flyer.fetch")

MAX_FILE_BYTES = 20_000_000
MAX_IMAGE_PIXELS = 25_000_000  # a 5000×5000 logo; 12000×12000 costs WeasyPrint > 1 GB
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"}

mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("application/vnd.iccprofile", ".icc")


class RefusedURL(ValueError):
    """A URL this fetcher will not open; WeasyPrint logs it and carries on without it."""


class RestrictedFetcher(URLFetcher):  # type: ignore[misc]
    """Serves `data:` URLs and files under `roots`; refuses everything else."""

    def __init__(self, roots: list[Path], max_bytes: int = MAX_FILE_BYTES) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
        self.roots = [root.resolve() for root in roots]
        self.max_bytes = max_bytes
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            if len(url) > self.max_bytes * 4 // 3 + 100:
                self._refuse(url, "URL data: trop grande")
            response = super().fetch(url, headers)
            if response.content_type not in IMAGE_TYPES:
                return response
            # A compressed PNG of 12000×12000 pixels fits in a small data: URL.
            body = response.read()
            self._check_image(url, io.BytesIO(body))
            return URLFetcherResponse(url, body=body,
                                      headers={"Content-Type": response.content_type})
        if scheme != "file":
            self._refuse(url, "seuls les fichiers du dossier de mise en page et de données "
                              "sont permis")
        path = self._allowed_path(url)
        size = path.stat().st_size
        if size > self.max_bytes:
            self._refuse(url, f"fichier trop gros ({size // 1_000_000} Mo)")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mime in IMAGE_TYPES:
            self._check_image(url, path)
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": mime}
        )

    def _allowed_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, "fichier sur une autre machine")
        try:
            path = Path(url2pathname(unquote(parts.path))).resolve(strict=True)
        except (OSError, RuntimeError):
            self._refuse(url, "fichier introuvable")
        if not any(path.is_relative_to(root) for root in self.roots):
            self._refuse(url, "fichier hors des dossiers de mise en page et de données")
        if not path.is_file():
            self._refuse(url, "ce n'est pas un fichier ordinaire")
        return path

    def _check_image(self, url: str, path: Path | io.BytesIO) -> None:
        from PIL import Image  # Pillow comes with WeasyPrint; only images pay for it

        try:
            # Image.open reads the header only: the pixels are never decoded here. Pillow's
            # own bomb check (a warning, then an error above 179 Mpx) is ours to word.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    width, height = image.size
        except Image.DecompressionBombError:
            self._refuse(url, "image beaucoup trop grande (plus de 179 millions de pixels)")
        except Exception:  # any unreadable image is refused the same way
            self._refuse(url, "image illisible")
        if width * height > MAX_IMAGE_PIXELS:
            self._refuse(url, f"image trop grande ({width}×{height} pixels, "
                              f"maximum {MAX_IMAGE_PIXELS // 1_000_000} millions)")

    def _refuse(self, url: str, why: str) -> Any:
        shown = url if len(url) < 120 else url[:117] + "…"
        self.refused.append(shown)
        LOGGER.warning("ressource refusée : %s (%s)", shown, why)
        raise RefusedURL(f"{shown}: {why}")
