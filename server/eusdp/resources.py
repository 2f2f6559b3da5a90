"""Where the ontology, data and canned queries live.

An installed wheel carries them under ``eusdp/_resources``; a checkout (or an
editable install) keeps them at the top of the repository. Looking in both
places lets the same code run from a wheel outside the checkout and from the
working tree without copying files.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_root() -> Path:
    """Return the folder that holds ``ontology/``, ``data/`` and ``queries/``."""
    packaged = _PACKAGE_DIR / "_resources"
    if (packaged / "ontology").is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent.parent
    if (checkout / "ontology").is_dir():
        return checkout
    raise FileNotFoundError(
        "eusdp resources not found: neither the installed package nor the checkout "
        "has an ontology/ folder"
    )
