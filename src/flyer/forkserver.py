"""What the fork server that render workers start from loads, once (flyer.pool).

Imported by that server first, before it forks any worker: from then on it dies with
flyer (even while it is still loading WeasyPrint), and every worker forked from it has
the render side of the pipeline loaded — WeasyPrint with its libraries found and its C
types parsed (flyer.startup), pikepdf, the preflight's readers, the fetcher — and none
of the data model, templates or loaders, which only the plan needs.
"""

from __future__ import annotations

from flyer.pool import die_with_parent

die_with_parent()

# The render side: imported here for their side effect of being loaded.
import pypdf  # noqa: E402, F401
import pypdfium2  # noqa: E402, F401

import flyer.assemble  # noqa: E402
import flyer.budget  # noqa: E402
import flyer.fit  # noqa: E402
import flyer.render  # noqa: E402
import flyer.worker  # noqa: E402, F401
from flyer.lifetime import settle  # noqa: E402

# What every worker shares is never walked by a collection again, and stays shared.
settle()
