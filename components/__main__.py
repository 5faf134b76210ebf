"""``python -m sfn_patterns <engine address>`` (or ``python components/``, as ``pulumi package add``
runs this folder): serve the components as a Pulumi component provider (:mod:`sfn_patterns.provider`)."""

import sys
from pathlib import Path

# Run as a folder (``python components``), Python puts this folder first on sys.path, which would
# make its subpackages (``blocks``, ``patterns`` ...) importable under top-level names too.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from sfn_patterns.provider import main  # noqa: E402

if __name__ == "__main__":
    main()
