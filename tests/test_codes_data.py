"""The bundled code catalog (data/codes.toml): breadth, sources, and agreement with CMS files.

The CMS MUE and fee-schedule rows in ``../shared/real`` are read in place (never
copied): codes the MUE table limits to one unit per day by CPT instruction must
be once-per-day here, and codes CMS pays under the therapy multiple-procedure
rule (indicator 5) must be always-therapy here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from cptrules.catalog import catalog

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real"
MUE = REAL / "ncci" / "mue_practitioner_2024-07-01__therapy_chiro_needling__northstar.csv"
PFS = REAL / "pfs" / "pprrvu_2024__therapy_chiro__arkrvu.csv"


def _span(first: int, last: int) -> list[str]:
    return [str(c) for c in range(first, last + 1)]


#: what a PT, OT, SLP, chiropractic, massage or acupuncture clinic bills
CLINIC_CODES = [
    "92507", "92508", "92520", "92521", "92522", "92523", "92524", "92526", "92597",
    "92605", "92606", "92607", "92608", "92609", *_span(92610, 92618),
    "97129", "97130", "97150", *_span(97169, 97172), "97533", "97535", "97537", "97542",
    "97545", "97546", *_span(97550, 97552), "97750", "97755", "97760", "97761", "97763",
    "29200", "29240", "29260", "29280", "29520", "29530", "29540", "29550", "29580", "29581",
    "29584", "95992", "97597", "97598", "97602", *_span(97605, 97608), "97610",
    *_span(98975, 98981), "98984", "98985", "G0283", "98943", *_span(98925, 98929),
    "97810", "97811", "97813", "97814", "20560", "20561", *_span(99202, 99205),
    *_span(99211, 99215), "97139", "97799", *_span(98940, 98942),
]  # fmt: skip


@pytest.mark.parametrize("code", CLINIC_CODES)
def test_the_catalog_knows_every_code_a_clinic_bills(code: str) -> None:
    assert code in catalog().codes


def test_every_entry_has_a_public_source_and_our_own_short_label() -> None:
    internal = re.compile(r"REFERENCE|shared/|cptrules contract|\[(?:\?|S|C-\d)\]")
    for info in catalog().codes.values():
        assert info.source, info.code
        assert not internal.search(info.source), info.code
        assert len(info.label) <= 70, info.code
        assert info.confidence in ("S", "?") or re.fullmatch(r"C-\d", info.confidence)
        assert set(info.disciplines) <= {
            "PT", "OT", "SLP", "DC", "MD", "DO", "NP", "PA", "LMT", "LAC", "ATC"
        }  # fmt: skip


def test_cr_10176_codes_are_billed_only_with_gn() -> None:
    slp_only = {c for c, i in catalog().codes.items() if i.discipline == "SLP"}
    assert slp_only == {"92521", "92522", "92523", "92524", "92597", "92607"}


def test_add_ons_name_known_primaries_and_are_not_once_per_day() -> None:
    codes = catalog().codes
    addons = {c: i.addon_to for c, i in codes.items() if i.addon_to}
    assert addons == {
        "97130": ("97129",),
        "97811": ("97810", "97813"),
        "97814": ("97810", "97813"),
        "92608": ("92607",),
        "92618": ("92605",),
        "97546": ("97545",),
        "97551": ("97550",),
        "97598": ("97597",),
        "98981": ("98980",),
    }
    for code, primaries in addons.items():
        assert codes[code].per_day is None
        assert all(codes[p].per_day is not None for p in primaries)


def test_once_per_day_groups() -> None:
    groups = catalog().per_day_groups
    assert groups["cmt"] == ("98940", "98941", "98942")
    assert groups["dry_needling"] == ("20560", "20561")
    assert groups["acupuncture_initial"] == ("97810", "97813")
    assert groups["pt_evaluation"] == ("97161", "97162", "97163", "97164")
    assert groups["ot_evaluation"] == ("97165", "97166", "97167", "97168")
    assert groups["em_office"][0] == "99201"


def test_codes_are_valid_for_their_years() -> None:
    codes = catalog().codes
    assert codes["99201"].valid_on(dt.date(2020, 12, 31))
    assert not codes["99201"].valid_on(dt.date(2021, 1, 1))
    assert not codes["97550"].valid_on(dt.date(2023, 12, 31))
    assert codes["97550"].valid_on(dt.date(2024, 1, 1))
    assert not codes["98978"].valid_on(dt.date(2022, 6, 1))
    assert codes["98977"].valid_on(dt.date(2022, 1, 1))
    for new_in_2026 in ("98979", "98984", "98985"):  # CMS CR 14250
        assert not codes[new_in_2026].valid_on(dt.date(2025, 12, 31))
        assert codes[new_in_2026].valid_on(dt.date(2026, 1, 1))


def test_endoscopic_swallowing_codes_as_the_therapy_code_list_has_them() -> None:
    codes = catalog().codes
    for code in ("92612", "92614", "92616"):  # sometimes therapy
        assert codes[code].therapy == "sometimes", code
    for code in ("92613", "92615", "92617"):  # the physician's interpretation only
        assert codes[code].therapy == "never", code
        assert "SLP" not in codes[code].disciplines, code


def _mue() -> dict[str, tuple[int, int]]:
    with MUE.open(newline="", encoding="utf-8") as f:
        return {
            r["hcpcs_code"]: (int(r["mue_units"]), int(r["mue_mai"])) for r in csv.DictReader(f)
        }


def test_cms_one_a_day_codes_are_once_per_day() -> None:
    codes = catalog().codes
    for code, (units, mai) in _mue().items():
        if units == 1 and mai == 2 and code in codes:  # one a day by CPT instruction
            assert codes[code].per_day is not None, code


def test_once_per_day_codes_never_have_a_higher_cms_mue() -> None:
    codes = catalog().codes
    for code, (units, _) in _mue().items():
        info = codes.get(code)
        if info is not None and info.per_day is not None:
            assert units <= 1, code


def test_cms_therapy_priced_codes_are_always_therapy() -> None:
    codes = catalog().codes
    with PFS.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    therapy_priced = {r["hcpcs"] for r in rows if r["mult_proc"] == "5"}
    assert therapy_priced  # the file has them
    assert {c for c in therapy_priced if codes[c].therapy != "always"} == set()
