"""Payer profiles: the code lists that used to be module constants are profile data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import cptrules
from cptrules.payers import bundled_profiles

DAY = dt.date(2026, 3, 4)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        'id = "acme"\nname = "Acme Health"\nextends = "commercial"\n'
        'effective = 2020-01-01\nsource = "test profile"\n' + body,
        encoding="utf-8",
    )
    return path


def test_medicare_lists_are_data_and_commercial_has_none() -> None:
    medicare = bundled_profiles().get("medicare", DAY)
    commercial = bundled_profiles().get("commercial", DAY)
    assert medicare is not None
    assert commercial is not None
    assert medicare.bundled_codes == {"97010"}
    assert dict(medicare.replaced_codes) == {"97014": "G0283"}
    assert medicare.low_back_pain_prefixes == ("M545",)
    for key in ("bundled_codes", "replaced_codes", "low_back_pain_prefixes"):
        assert "single source" in medicare.sources[key] or "confirmed" in medicare.sources[key]
    assert not commercial.bundled_codes
    assert not commercial.replaced_codes


def test_a_commercial_profile_can_bundle_a_code_as_data(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'bundled_codes = ["97018"]\n[sources]\nbundled_codes = "Acme manual 2026, sec. 5"\n'
        '[rules]\non = ["coverage.bundled"]\n',
    )
    engine = cptrules.Engine(profiles=[path])
    visit = {
        "date_of_service": "2026-03-04",
        "payer": "acme",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 30}, {"code": "97018", "units": 1}],
    }
    (f,) = [f for f in engine.check(visit).findings if f.rule == "coverage.bundled"]
    assert f.line == 1
    plain = visit | {"payer": "commercial"}
    assert not [f for f in engine.check(plain).findings if f.rule == "coverage.bundled"]


def test_overriding_a_code_list_needs_a_source_line(tmp_path: Path) -> None:
    with pytest.raises(cptrules.ProfileError, match="source line"):
        cptrules.Engine(profiles=[_write(tmp_path, 'bundled_codes = ["97018"]\n')])


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("bundled_codes = [1]\n", "bundled_codes"),
        ('replaced_codes = ["97014"]\n', "replaced_codes"),
        ('low_back_pain_prefixes = "M54.5"\n', "low_back_pain_prefixes"),
    ],
)
def test_bad_code_lists_name_their_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(cptrules.ProfileError) as exc:
        cptrules.Engine(profiles=[_write(tmp_path, body)])
    assert key in str(exc.value)


# ------------------------------------------------------------------ provider limits


LMT_LIMIT = """
[[provider_limits]]
codes = ["97124", "97140"]
not_paid = ["LMT"]
effective = 2024-01-01
source = "Acme provider manual 2024, credentialing"
confidence = "single source"
"""


def _massage(discipline: str, day: str = "2026-03-04") -> dict[str, object]:
    return {
        "date_of_service": day,
        "payer": "acme",
        "provider": {"discipline": discipline},
        "lines": [
            {"code": "97124", "minutes": 15, "regions": ["lumbar"]},
            {"code": "97110", "minutes": 15},
        ],
    }


def _limited(engine: cptrules.Engine, data: dict[str, object]) -> list[cptrules.Finding]:
    return [f for f in engine.check(data).findings if f.rule == "coverage.payer-provider"]


def test_a_plan_not_crediting_massage_therapists_is_data(tmp_path: Path) -> None:
    engine = cptrules.Engine(profiles=[_write(tmp_path, LMT_LIMIT)])
    (f,) = _limited(engine, _massage("LMT"))
    assert (f.line, f.severity) == (0, "error")
    assert "Acme Health" in f.message
    assert "Medicare" not in f.message
    assert "single source" in f.citation
    assert _limited(engine, _massage("PT")) == []
    assert _limited(engine, _massage("LMT", day="2023-12-31")) == []  # before the entry


def test_only_refuses_every_other_discipline(tmp_path: Path) -> None:
    only = LMT_LIMIT.replace('not_paid = ["LMT"]', 'only = ["PT", "OT"]')
    engine = cptrules.Engine(profiles=[_write(tmp_path, only)])
    assert [f.line for f in _limited(engine, _massage("DC"))] == [0]
    assert _limited(engine, _massage("OT")) == []


def test_regence_pays_manipulation_to_chiropractors_only() -> None:
    visit = {
        "date_of_service": "2026-03-04",
        "payer": "regence-wa",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "98941", "regions": ["cervical", "thoracic", "lumbar"]}],
    }
    (f,) = _limited(cptrules.default_engine(), visit)
    assert f.severity == "warning"
    assert "Regence BlueShield Washington" in f.message
    visit["provider"] = {"discipline": "DC"}
    assert _limited(cptrules.default_engine(), visit) == []


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('not_paid = ["LMT"]', 'not_paid = ["LMT"]\nonly = ["PT"]'), "provider_limits[0]"),
        (('not_paid = ["LMT"]', ""), "provider_limits[0]"),
        (('not_paid = ["LMT"]', 'not_paid = ["Masseur"]'), "provider_limits[0].not_paid"),
        (('confidence = "single source"', "confidence = 3"), "provider_limits[0].confidence"),
        (('codes = ["97124", "97140"]', "colour = 1"), "provider_limits[0].colour"),
    ],
)
def test_bad_provider_limits_name_their_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    body = LMT_LIMIT.replace(*change)
    with pytest.raises(cptrules.ProfileError) as exc:
        cptrules.Engine(profiles=[_write(tmp_path, body)])
    assert key in str(exc.value)


# ------------------------------------------------------------------ not checked


def test_massachusetts_pip_names_what_it_cannot_check() -> None:
    visit = {
        "date_of_service": "2026-03-04",
        "payer": "ma-auto-pip",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 30, "units": 2}],
    }
    report = cptrules.check(visit)
    notes = [f for f in report.findings if f.rule == "coverage.not-checked"]
    assert [(f.severity, f.line) for f in notes] == [("info", None), ("info", None)]
    assert "$2,000" in notes[0].message or "$2,000" in notes[1].message
    assert all("Massachusetts auto PIP" in f.message for f in notes)
    assert all("M.G.L. c. 90" in f.citation for f in notes)
    assert report.ok
    plain = cptrules.check(visit | {"payer": "commercial"})
    assert not [f for f in plain.findings if f.rule == "coverage.not-checked"]


def test_not_checked_entries_need_what_and_know_their_keys(tmp_path: Path) -> None:
    body = '[[not_checked]]\neffective = 2020-01-01\nsource = "s"\nconfidence = "single source"\n'
    with pytest.raises(cptrules.ProfileError) as exc:
        cptrules.Engine(profiles=[_write(tmp_path, body)])
    assert "not_checked[0].what" in str(exc.value)
    with pytest.raises(cptrules.ProfileError) as exc:
        cptrules.Engine(profiles=[_write(tmp_path, body + 'what = "x"\nhow = 1\n')])
    assert "not_checked[0].how" in str(exc.value)
