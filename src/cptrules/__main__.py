"""``python -m cptrules``: the same program as the ``cptrules`` command."""

import sys

from .cli import main

sys.exit(main())
