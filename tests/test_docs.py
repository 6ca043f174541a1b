"""The documentation builds, and says what the code does.

- Sphinx builds docs/ with warnings as errors (the same command CI runs:
  ``sphinx-build -W --keep-going -b html docs docs/_build/html``, here into a
  temporary folder);
- the generated rule pages (docs/rules/) are what tools/gen_rule_docs.py makes
  from the registry now;
- the hand-written pages list every vocabulary word, profile key, CLI command and
  option the code has.

The ``>>>`` examples in docs/*.md are run by pytest itself (``--doctest-glob``).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from cptrules import payers
from cptrules.catalog import catalog
from cptrules.models import DISCIPLINES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATOR = ROOT / "tools" / "gen_rule_docs.py"
#: pages other parts of the project own; the index must list them
PAGES = (
    "getting-started",
    "session-format",
    "cli",
    "profiles",
    "rules/index",
    "units",
    "ncci",
    "api",
    "strategies",
)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_rule_docs", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_sphinx_builds_without_warnings(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr + result.stdout
    assert (tmp_path / "html" / "index.html").exists()
    assert (tmp_path / "html" / "_downloads").exists()  # the JSON Schema is offered
    assert seconds < 60, f"sphinx took {seconds:.1f} s"


def test_rule_pages_are_up_to_date() -> None:
    gen = _generator()
    pages = gen.render()
    out = DOCS / "rules"
    stale = [
        name
        for name, text in pages.items()
        if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python tools/gen_rule_docs.py`: out of date {stale}"
    leftovers = [p.name for p in out.glob("*.md") if p.name not in pages]
    assert not leftovers, f"run `python tools/gen_rule_docs.py`: stale pages {leftovers}"
    for text in pages.values():
        assert text.startswith(gen.HEADER)
        assert "do not edit" in text.splitlines()[0]


def test_generator_check_mode_reports_a_changed_page(tmp_path: Path) -> None:
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert gen.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "index.md").write_text("edited by hand\n", encoding="utf-8")
    assert gen.main(["--out", str(tmp_path), "--check"]) == 1


def test_examples_page_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_examples_doc", ROOT / "tools" / "gen_examples_doc.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "examples.md").read_text(encoding="utf-8")
    assert module.render() == page, "run `python tools/gen_examples_doc.py`"


def test_index_lists_every_page() -> None:
    index = _page("index.md")
    toctrees = re.findall(r"```\{toctree\}\n(.*?)```", index, flags=re.S)
    listed = {line.strip() for tree in toctrees for line in tree.splitlines()}
    assert set(PAGES) <= listed


def test_readme_promise_is_in_getting_started() -> None:
    page = _page("getting-started.md")
    assert "pip install . && cptrules check examples/medicare-visit.json" in page
    assert "pip install -e '.[test]' && pytest" in page
    assert (ROOT / "examples" / "medicare-visit.json").exists()


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after ``heading``, cells stripped of backticks."""
    section = text.split(heading, 1)[1]
    rows = []
    started = False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
            if not set(cells[0]) <= {"-"}:
                rows.append(cells)
        elif started:
            break
    return rows[1:]  # without the header row


def test_session_format_lists_the_vocabularies() -> None:
    page = _page("session-format.md")
    cat = catalog()
    regions = {row[0]: row[1] == "yes" for row in _table_rows(page, "### Regions")}
    assert regions == dict(cat.regions)
    techniques = {
        row[0]: tuple(c.strip() for c in row[1].split(","))
        for row in _table_rows(page, "### Techniques")
    }
    assert techniques == {t: cat.families[f] for t, f in cat.techniques.items()}
    for discipline in DISCIPLINES:
        assert f"`{discipline}`" in page


def test_session_format_lists_every_key() -> None:
    from cptrules import _schema

    page = _page("session-format.md")
    for _obj, field in _schema.walk():
        assert f"`{field.name}`" in page, field.name


def test_profiles_page_lists_every_profile_key() -> None:
    page = _page("profiles.md")
    for key in payers._TOP_KEYS:
        assert f"`{key}`" in page or f"`[{key}]`" in page or f"`[[{key}]]`" in page, key
    for profile in payers.bundled_profiles().all():
        assert f"`{profile.id}`" in page, profile.id


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, list[str]]]:
    """(command, its long options) for every sub-command, depth first."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                options = [
                    opt
                    for a in sub._actions
                    for opt in a.option_strings
                    if opt.startswith("--") and opt != "--help"
                ]
                out.append((f"{prefix} {name}", options))
                out += _commands(sub, f"{prefix} {name}")
    return out


def test_cli_page_documents_every_command_and_option() -> None:
    from cptrules.cli import build_parser

    page = _page("cli.md")
    for command, options in _commands(build_parser(), "cptrules"):
        assert command in page, command
        section = page.split(f"`{command}", 1)[-1] if f"`{command}" in page else page
        for option in options:
            assert option in section, f"{command} {option}"


@pytest.mark.parametrize("code", ["0", "1", "2"])
def test_cli_page_states_the_exit_codes(code: str) -> None:
    assert f"| {code} |" in _page("cli.md")
