"""Front-end packages installed by npm and served from ``static/vendor/``.

``package.json`` pins each version exactly; ``make`` copies the files to
``static/vendor/<package>-<version>/`` so the version is in every URL and a
kiosk can cache them forever.
"""

import json
from functools import cache

from flask import url_for

from . import PROJECT_ROOT


@cache
def vendor_versions() -> dict[str, str]:
    package = json.loads((PROJECT_ROOT / "package.json").read_text())
    return package["dependencies"]


def vendor_url(package: str, filename: str) -> str:
    version = vendor_versions()[package]
    return url_for("static", filename=f"vendor/{package}-{version}/{filename}")

