"""``python -m prefcore.cli``: the ``prefcore`` command."""

import sys

from prefcore.cli import main

sys.exit(main())
