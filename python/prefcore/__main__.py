"""``python -m prefcore``: the ``prefcore`` command line, for environments whose
scripts directory is not on PATH."""

from prefcore.cli import main

raise SystemExit(main())
