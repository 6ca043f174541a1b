"""The rule registry, the docs and the contract's rule table agree.

The contract (``shared/CONTRACT.md`` beside the repository, section 5) lists the
stable rule ids other software depends on. Every one of them must be registered
with its provenance (citation, payers, confidence, dates) and with examples that
must fail and must pass; every registered rule must have its section in the
generated docs (docs/rules/). Like python-holidays checking its README table
against its registry.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

import pytest

from cptrules.payers import bundled_profiles
from cptrules.rules import REGISTRY, Rule

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"
RULE_DOCS = ROOT / "docs" / "rules"

_ID = re.compile(r"[a-z]+\.[a-z0-9]+(?:-[a-z0-9]+)*")
_CONFIDENCE = re.compile(r"C-[1-9]|S|\?")
_SEVERITIES = ("error", "warning", "info")


def contract_ids() -> list[str]:
    """The rule ids of the table in CONTRACT.md section 5, in table order."""
    text = CONTRACT.read_text(encoding="utf-8")
    match = re.search(r"^## 5\..*?$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, "CONTRACT.md has no section 5"
    ids = re.findall(r"^\|\s*`([^`]+)`\s*\|", match.group(1), flags=re.M)
    assert ids, "CONTRACT.md section 5 has no table of rule ids"
    return ids


_CONTRACT_IDS = contract_ids() if CONTRACT.exists() else []
_needs_contract = pytest.mark.skipif(
    not CONTRACT.exists(), reason=f"{CONTRACT} is absent (shared/ sits beside the repository)"
)


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(RULE_DOCS.glob("*.md")))


@_needs_contract
def test_contract_table_parses() -> None:
    assert len(_CONTRACT_IDS) == len(set(_CONTRACT_IDS)), "duplicate ids in the contract"
    for rule_id in _CONTRACT_IDS:
        assert _ID.fullmatch(rule_id), rule_id
    assert "units.total-time" in _CONTRACT_IDS


@_needs_contract
@pytest.mark.parametrize("rule_id", _CONTRACT_IDS or ["<no contract>"])
def test_contract_id_is_registered(rule_id: str) -> None:
    assert rule_id in REGISTRY, f"contract rule {rule_id} is not registered"


@_needs_contract
@pytest.mark.parametrize("rule_id", _CONTRACT_IDS or ["<no contract>"])
def test_contract_id_is_documented(rule_id: str) -> None:
    assert f"## `{rule_id}`" in _docs_text(), f"{rule_id} has no section in docs/rules/"
    index = (RULE_DOCS / "index.md").read_text(encoding="utf-8")
    assert f"{{ref}}`{rule_id} <" in index, f"{rule_id} is not in docs/rules/index.md"


def _rules() -> list[Rule]:
    return sorted(REGISTRY.values(), key=lambda r: r.id)


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_rule_is_complete(rule: Rule) -> None:
    assert _ID.fullmatch(rule.id), rule.id
    assert rule.family == rule.id.split(".", 1)[0]
    assert rule.severity in _SEVERITIES
    assert rule.citation.strip(), "no citation"
    assert rule.summary.strip(), "no summary"
    assert inspect.getdoc(rule.func), "no docstring with its source"
    assert rule.payers, "no payers"
    known = {p.id for p in bundled_profiles().all()}
    for payer in rule.payers:
        assert payer == "*" or payer in known, f"unknown payer family {payer}"
    assert _CONFIDENCE.fullmatch(rule.confidence), rule.confidence
    assert isinstance(rule.effective, dt.date)
    assert rule.until is None or rule.until >= rule.effective
    assert any(e.fails for e in rule.examples), "no example that must fail"
    assert any(not e.fails for e in rule.examples), "no example that must pass"


@pytest.mark.parametrize(
    "rule", [r for r in _rules() if r.confidence in ("S", "?")], ids=lambda r: r.id
)
def test_weak_sources_say_so(rule: Rule) -> None:
    # REFERENCE.md: a rule built on [S] or [?] must say so in its citation or docs.
    tag = f"[{rule.confidence}]"
    text = rule.citation + (inspect.getdoc(rule.func) or "")
    assert tag in text or "single source" in text, f"{rule.id}: neither citation nor doc says {tag}"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_registered_rule_is_documented(rule: Rule) -> None:
    page = RULE_DOCS / f"{rule.family}.md"
    assert page.exists(), f"no docs/rules/{rule.family}.md: run tools/gen_rule_docs.py"
    assert f"## `{rule.id}`" in page.read_text(encoding="utf-8"), (
        f"{rule.id} missing from {page.name}: run tools/gen_rule_docs.py"
    )


def test_documented_ids_are_registered() -> None:
    documented = set(re.findall(r"^## `([^`]+)`$", _docs_text(), flags=re.M))
    assert documented <= set(REGISTRY), sorted(documented - set(REGISTRY))
