"""Generate docs/session.schema.json from the session format's one declaration.

    python tools/gen_session_schema.py           # write docs/session.schema.json
    python tools/gen_session_schema.py --check   # exit 1 when the file is out of date

The declaration is :mod:`cptrules._schema`; the vocabularies (regions,
techniques) come from the bundled catalog and the disciplines from the models.
tests/test_schema.py regenerates the text in memory and compares it with the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cptrules._schema import json_schema
from cptrules.catalog import catalog
from cptrules.models import DISCIPLINES

__all__ = ["OUT", "main", "render"]

OUT = Path(__file__).resolve().parents[1] / "docs" / "session.schema.json"


def render() -> str:
    """The text of docs/session.schema.json."""
    cat = catalog()
    vocabs = {
        "disciplines": list(DISCIPLINES),
        "regions": list(cat.regions),
        "techniques": list(cat.techniques),
    }
    return json.dumps(json_schema(vocabs), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schema, or with ``--check`` say whether the file is out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python tools/gen_session_schema.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
