"""The server and Dask stacks are never imported by ``import cptrules`` or the CLI parser."""

from __future__ import annotations

import subprocess
import sys


def test_import_cptrules_and_the_cli_parser_stay_light() -> None:
    code = (
        "import sys, cptrules, cptrules.cli; cptrules.cli.build_parser();"
        "heavy = [m for m in ('starlette', 'uvicorn', 'dask', 'distributed') if m in sys.modules];"
        "sys.exit(str(heavy) if heavy else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
