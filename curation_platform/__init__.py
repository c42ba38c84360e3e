"""curation_platform: the engine. Plain Python over polars frames and files; no Dagster
imports here (the asset graph lives in `assets/`, installed as curation_platform.assets)."""

__version__ = "0.1.0"

import os as _os

_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "assets")) and _os.path.isfile(_os.path.join(_root, "assets", "definitions.py")):
    # Imported from a source checkout (the repository root on sys.path shadows an installed
    # copy, as `dagster dev -w workspace.yaml` run from the root does): the checkout's
    # assets/ and resources/ are this package's subpackages, as the wheel installs them.
    __path__.append(_root)  # noqa: F821  (the package's own search path)
