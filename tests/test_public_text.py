"""No internal document names in anything a user sees; no "Medicare" under a commercial payer.

Scanned: every registered rule's citation, summary and docstring (the docs pages
are built from them); the message and citation of every finding that any rule
example produces under every bundled payer profile; and every ``source`` and
``note`` string of the bundled data. Internal names are the project's own
working documents and their confidence tags: users cannot look them up, so
confidence is said in words ("single source", "sources disagree").

``KNOWN`` lists today's offenders in files other engineers own, by rule id or
data file, each with its owner: the lead empties it after merging their fixes.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import tomllib
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import pytest

import cptrules
from cptrules.episodes import check_example
from cptrules.ncci import bundled_tables
from cptrules.payers import bundled_profiles
from cptrules.rules import REGISTRY

#: REFERENCE(.md), the contract, the shared folder, bare confidence tags
INTERNAL = re.compile(
    r"REFERENCE|cptrules contract|CONTRACT\.md|shared/|\[\?\]|\[S\]|\[C-\d\]|(?<![\w-])C-\d(?!\d)"
)

#: known offenders outside this change's files -> owner (empty it after merging)
KNOWN: dict[str, str] = {}

ENGINE = cptrules.Engine(tables=bundled_tables())


def _examples_under_every_profile() -> Iterator[tuple[str, str, cptrules.report.Finding]]:
    """(profile id, whether it is a Medicare profile, finding) for every example run."""
    profiles = bundled_profiles()
    for r in REGISTRY.values():
        for ex in r.examples:
            day = dt.date.fromisoformat(str(ex.session["date_of_service"]))
            for pid in profiles.ids():
                profile = profiles.get(pid, day)
                if profile is None:
                    continue
                medicare = "yes" if profile.is_a("medicare") else "no"
                for f in check_example(r, ex, engine=ENGINE, payer=pid).findings:
                    yield pid, medicare, f


FINDINGS = list(_examples_under_every_profile())


def _offence(text: str) -> str | None:
    m = INTERNAL.search(text)
    return None if m is None else m.group()


def test_the_scan_sees_findings_under_commercial_profiles() -> None:
    assert {pid for pid, medicare, _ in FINDINGS if medicare == "no"} >= {"commercial", "aetna"}


@pytest.mark.parametrize("rule_id", sorted(REGISTRY))
def test_registry_text_names_no_internal_document(rule_id: str) -> None:
    r = REGISTRY[rule_id]
    texts = {"citation": r.citation, "summary": r.summary, "doc": inspect.getdoc(r.func) or ""}
    bad = {k: _offence(v) for k, v in texts.items() if _offence(v)}
    if rule_id in KNOWN:
        pytest.skip(f"known offender, owner {KNOWN[rule_id]}")  # remove once fixed
    assert bad == {}


def test_example_findings_name_no_internal_document() -> None:
    bad = {
        (f.rule, _offence(f.message) or _offence(f.citation))
        for _, _, f in FINDINGS
        if f.rule not in KNOWN and (_offence(f.message) or _offence(f.citation))
    }
    assert bad == set()


def test_commercial_profiles_never_say_medicare() -> None:
    bad = {
        (pid, f.rule)
        for pid, medicare, f in FINDINGS
        if medicare == "no" and "Medicare" in f.message
    }
    assert bad == set()


def _tomls(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for item in folder.iterdir():
        if item.is_dir():
            yield from _tomls(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".toml"):
            yield prefix + item.name, item


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("source", "note") and isinstance(value, str):
                yield f"{path}.{key}", value
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")


DATA = sorted(_tomls(resources.files("cptrules.data")), key=lambda x: x[0])


@pytest.mark.parametrize(("name", "file"), DATA, ids=[n for n, _ in DATA])
def test_bundled_data_sources_name_no_internal_document(name: str, file: Traversable) -> None:
    data = tomllib.loads(file.read_text(encoding="utf-8"))
    bad = [(where, _offence(text)) for where, text in _strings(data, name) if _offence(text)]
    if name in KNOWN:
        pytest.skip(f"known offender, owner {KNOWN[name]}")  # remove once fixed
    assert bad == []


def test_known_offenders_still_offend() -> None:
    """An entry of KNOWN whose owner fixed it must leave the list (it can only shrink)."""
    offending = {f.rule for _, _, f in FINDINGS if _offence(f.message) or _offence(f.citation)}
    for rule_id in REGISTRY:
        r = REGISTRY[rule_id]
        doc = inspect.getdoc(r.func) or ""
        if any(_offence(t) for t in (r.citation, r.summary, doc)):
            offending.add(rule_id)
    for name, file in DATA:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
        if any(_offence(text) for _, text in _strings(data, name)):
            offending.add(name)
    assert set(KNOWN) - offending == set()
