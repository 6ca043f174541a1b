"""``python -m cptrules``: the same program as the ``cptrules`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
