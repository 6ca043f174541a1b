"""The 837P reader against fixtures written from the 005010X222A1 TR3 structure."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

import cptrules
from cptrules import x12
from cptrules.x12 import ClaimVisit, X12Error

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
PT = FIXTURES / "pt_medicare_and_commercial.837"


def results(source: object, **kw: object) -> list[ClaimVisit | X12Error]:
    return list(x12.read_837(source, **kw))  # type: ignore[arg-type]


def visits(source: object, **kw: object) -> list[ClaimVisit]:
    out = results(source, **kw)
    assert all(isinstance(r, ClaimVisit) for r in out), out
    return out  # type: ignore[return-value]


def errors(source: object, **kw: object) -> list[X12Error]:
    return [r for r in results(source, **kw) if isinstance(r, X12Error)]


def segs(path: Path) -> list[str]:
    return [s for s in path.read_text().replace("\n", "").split("~") if s]


def join(parts: list[str]) -> str:
    return "~\n".join(parts) + "~\n"


def test_one_session_per_claim_and_date_of_service() -> None:
    got = visits(PT)
    assert [(v.claim, v.session.date_of_service, v.positions) for v in got] == [
        ("PT-1001", dt.date(2026, 3, 4), (1, 2)),
        ("PT-1001", dt.date(2026, 3, 6), (3, 4, 5)),
        ("PT-1002", dt.date(2026, 3, 5), (1,)),
    ]
    first = got[0].session
    assert first.payer == "medicare"  # SBR09 MB
    assert got[2].session.payer == "commercial"  # SBR09 CI, under a patient loop (HL 23)
    assert first.provider == cptrules.Provider(discipline="PT", npi="1234567893")
    assert first.diagnoses == ("M54.50", "M62.81")  # X12 sends ICD-10 without the dot
    line = first.lines[0]
    assert (line.code, line.units, line.modifiers, line.diagnosis_pointers) == (
        "97110",
        3,
        ("GP",),
        (1, 2),
    )
    assert got[1].session.lines[1].modifiers == ()


def test_delimiters_come_from_the_isa_header_with_or_without_newlines() -> None:
    [visit] = visits(FIXTURES / "chiro_one_line_pipes.837")
    assert "\n" not in (FIXTURES / "chiro_one_line_pipes.837").read_text()
    assert visit.session.provider.discipline == "DC"  # taxonomy 111N...
    assert visit.session.lines[0].modifiers == ("AT",)
    assert visit.session.lines[0].diagnosis_pointers == (1, 2)
    assert visit.not_carried == ("CR2",)  # named, so a caller sees it was not checked


def test_minutes_billed_in_mj_and_a_one_day_range() -> None:
    [visit] = visits(FIXTURES / "ot_minutes_mj.837")  # CRLF after every segment
    line = visit.session.lines[0]
    assert (line.code, line.minutes, line.units) == ("97530", 38, None)
    assert visit.session.provider.discipline == "OT"


@pytest.mark.parametrize("kind", ["str", "bytes", "path", "binary file", "text file"])
def test_every_source_kind_reads_the_same(kind: str) -> None:
    text = PT.read_text()
    source: object = {
        "str": text,
        "bytes": text.encode(),
        "path": PT,
        "binary file": io.BytesIO(text.encode()),
        "text file": io.StringIO(text),
    }[kind]
    assert [v.session for v in visits(source)] == [v.session for v in visits(PT)]


def test_the_report_names_the_claim_and_lx_lines() -> None:
    visit = visits(PT)[1]  # LX 3, 4, 5: 97010 on LX 4 is bundled under Medicare
    out = x12.check_visit(visit).to_dict()
    assert out["claim"] == "PT-1001"
    bundled = [f for f in out["findings"] if f["rule"] == "coverage.bundled"]
    assert [(f["line"], f["claim_line"]) for f in bundled] == [(1, 4)]
    assert [u["claim_line"] for u in out["units"]] == [3, 4, 5]


def located(errs: list[X12Error]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for e in errs for p in e.problems]


def test_wrong_counts_and_control_numbers_are_located() -> None:
    parts = segs(PT)
    parts = [
        "SE*99*0001" if p.startswith("SE*") else
        "GE*2*101" if p.startswith("GE*") else
        "IEA*1*000000999" if p.startswith("IEA*") else p
        for p in parts
    ]  # fmt: skip
    got = located(errors(join(parts)))
    paths = [p for p, _ in got]
    assert any(p.endswith("SE01") for p in paths)
    assert any(p.endswith("GE01") for p in paths)
    assert any(p.endswith("IEA02") for p in paths)


def test_a_truncated_interchange_names_the_open_claim() -> None:
    text = PT.read_text()
    cut = text[: text.index("LX*4")]
    got = results(cut)
    open_claim = [r for r in got if isinstance(r, X12Error) and r.claim == "PT-1001"]
    assert open_claim
    assert "not closed" in str(open_claim[0])
    assert any("without IEA" in m for _, m in located(errors(cut)))


def test_4010_is_refused_at_gs08_never_guessed() -> None:
    text = PT.read_text().replace("005010X222A1", "004010X098A1")
    [err] = errors(text)
    assert err.problems[0].path == "segment 2 GS08"
    assert "004010X098A1" in err.problems[0].message
    assert not [r for r in results(text) if isinstance(r, ClaimVisit)]


def test_icd9_diagnoses_are_refused_at_the_hi_element() -> None:
    text = PT.read_text().replace("HI*ABK:M5450*ABF:M6281", "HI*ABK:M5450*BF:7213")
    [err] = errors(text)
    assert err.claim == "PT-1001"
    assert [(p.segment_id, p.element) for p in err.problems] == [("HI", "HI02-1")]
    assert "ICD-9" in err.problems[0].message


def test_an_unmapped_claim_filing_code_is_an_error_unless_mapped_or_given() -> None:
    text = PT.read_text().replace("SBR*P*18*******MB", "SBR*P*18*******MC")  # Medicaid
    [err] = errors(text)
    assert err.problems[0].element == "SBR09"
    assert [v.session.payer for v in visits(text, payer_map={"00000": "aetna"})][:2] == [
        "aetna",
        "aetna",
    ]
    assert {v.session.payer for v in visits(text, payer="commercial")} == {"commercial"}


def test_a_payer_map_file_overrides_the_bundled_one(tmp_path: Path) -> None:
    path = tmp_path / "payers.toml"
    path.write_text('[payer_ids]\n"99999" = "uhc-commercial"\n')
    pmap = x12.load_payer_map(path)
    got = visits(PT, payer_map=pmap)
    assert [v.session.payer for v in got] == ["medicare", "medicare", "uhc-commercial"]
    path.write_text("[nonsense]\n")
    with pytest.raises(cptrules.DataError):
        x12.load_payer_map(path)


def test_a_physician_taxonomy_needs_the_discipline() -> None:
    text = PT.read_text().replace("225100000X", "207X00000X")  # orthopaedic surgery
    [err] = errors(text)[:1]
    assert {p.element for p in err.problems} == {"PRV03"}
    assert {v.session.provider.discipline for v in visits(text, discipline="MD")} == {"MD"}


def test_session_problems_are_located_at_their_segment() -> None:
    text = PT.read_text().replace("SV1*HC:97140:GP*40*UN*1***1", "SV1*HC:97140:GP*40*UN*1***7")
    [err] = errors(text)
    [problem] = err.problems
    assert (problem.segment_id, problem.element) == ("SV1", "SV107")
    assert problem.segment == segs(PT).index("SV1*HC:97140:GP*40*UN*1***1") + 1


def test_more_than_50_lines_is_an_error() -> None:
    parts = segs(FIXTURES / "ot_minutes_mj.837")
    k = next(i for i, p in enumerate(parts) if p.startswith("LX"))
    body = []
    for n in range(1, 52):
        body += [f"LX*{n}", "SV1*HC:97530:GO*90*UN*1***1", "DTP*472*D8*20260305"]
    parts[k : k + 3] = body
    se = next(i for i, p in enumerate(parts) if p.startswith("SE*"))
    st = next(i for i, p in enumerate(parts) if p.startswith("ST*"))
    parts[se] = f"SE*{se - st + 1}*0001"
    [err] = errors(join(parts).replace("\n", "\r\n"))
    assert "more than 50" in str(err)


def test_bounded_segments_and_not_an_interchange() -> None:
    assert "no ISA header" in str(errors(b"\x00\x01binary")[0])
    assert "no ISA header" in str(errors("")[0])
    huge = PT.read_text().replace("PER*IC*BILLING OFFICE", "PER*IC*" + "X" * 10_000)
    assert "4096" in str(errors(huge)[0])
    assert "not UTF-8" in str(errors(PT.read_bytes()[:200] + b"\xff\xfe")[0])
    assert "not text, bytes" in str(errors(12345)[0])
    assert "pathlib.Path" in str(errors(str(PT))[0])


def test_no_patient_data_or_claim_id_in_messages_and_reprs() -> None:
    text = PT.read_text().replace("SBR*P*18*******MB", "SBR*P*18*******MC")
    shown = " ".join(str(e) + repr(e) for e in errors(text))
    shown += " ".join(repr(v) for v in visits(PT))
    for secret in ("PT-1001", "DOE", "JANE", "0000000000A", "EXAMPLE WAY"):
        assert secret not in shown


class _LazyInterchange(io.RawIOBase):
    """An 837P of ``pairs`` x 2 claims, produced as it is read (never whole in memory)."""

    def __init__(self, pairs: int) -> None:
        parts = segs(PT)
        start = next(i for i, p in enumerate(parts) if p.startswith("HL*1"))
        end = next(i for i, p in enumerate(parts) if p.startswith("SE*"))
        self.block = ("~".join(parts[start:end]) + "~").encode()
        count = pairs * (end - start) + start - 2 + 1
        self.head = ("~".join(parts[:start]) + "~").encode()
        self.tail = f"SE*{count}*0001~GE*1*101~IEA*1*000000101~".encode()
        self.left = pairs
        self.buf = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while len(self.buf) < n and (self.head or self.left or self.tail):
            if self.head:
                self.buf, self.head = self.head, b""
            elif self.left:
                self.buf += self.block
                self.left -= 1
            else:
                self.buf, self.tail = self.buf + self.tail, b""
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def test_streams_in_constant_memory() -> None:
    import tracemalloc

    def peak(pairs: int) -> int:
        tracemalloc.start()
        count = sum(1 for r in x12.read_837(_LazyInterchange(pairs)) if isinstance(r, ClaimVisit))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == pairs * 3  # two claims, three dates of service
        return top

    for _ in x12.read_837(_LazyInterchange(1000)):  # fill the parser's bounded memo tables
        pass
    small, large = peak(200), peak(1200)  # 1200 pairs: 1.3 MB of input, never held whole
    assert large < small * 1.25, (small, large)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("ST*837*0001", "ST*837*0002", "SE02"),
        ("GS*HC*", "GS*HP*", "GS01"),
        ("ST*837*0001*005010X222A1", "ST*835*0001*005010X222A1", "ST01"),
        ("HL*4*3*23*0", "HL*4*9*23*0", "HL02"),
        ("HL*4*3*23*0", "HL*4*3*24*0", "HL03"),
    ],
)
def test_envelope_and_hierarchy_problems_are_located(old: str, new: str, where: str) -> None:
    text = PT.read_text().replace(old, new, 1)
    assert any(p.endswith(where) for p, _ in located(errors(text)))


def test_data_after_iea_is_named() -> None:
    text = PT.read_text() + "NM1*XX~\n"
    assert any("after the IEA" in m for _, m in located(errors(text)))
    assert len(visits(PT)) == len([r for r in results(text) if isinstance(r, ClaimVisit)])


def test_a_line_without_a_service_date_or_sv1() -> None:
    text = PT.read_text().replace("DTP*472*D8*20260305", "DTP*473*D8*20260305")
    sv1 = segs(PT).index("SV1*HC:97110:GP*100*UN*2***1") + 1
    assert (f"segment {sv1} SV1", "no service date (DTP*472)") in located(errors(text))
    text = PT.read_text().replace("SV1*HC:97110:GP*100*UN*2***1", "SVX*HC:97110:GP*100*UN*2***1")
    assert any(m == "service line without SV1" for _, m in located(errors(text)))


def test_sniff_finds_the_isa_header() -> None:
    assert x12.sniff(PT.read_bytes()[:200])
    assert x12.sniff("\ufeff\n ISA*00*")
    assert not x12.sniff(b'{"date_of_service": "2026-03-04"}')
    assert not x12.sniff(b"ISA")


def test_importing_the_readers_does_not_import_hypothesis() -> None:
    import subprocess
    import sys

    code = "import sys, cptrules.x12, cptrules.fhir; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_claim_of_countless_bad_segments_keeps_a_bounded_error() -> None:
    parts = segs(PT)
    k = parts.index("LX*1")
    parts[k:k] = ["HI*ZZ:1"] * 5000
    se = next(i for i, p in enumerate(parts) if p.startswith("SE*"))
    st = next(i for i, p in enumerate(parts) if p.startswith("ST*"))
    parts[se] = f"SE*{se - st + 1}*0001"
    [err] = [e for e in errors(join(parts)) if e.claim == "PT-1001"]
    assert len(err.problems) == 101
    assert err.problems[-1].message == "more problems in this claim, not listed"


def test_a_line_level_rendering_provider_splits_the_visit() -> None:
    """2420A: a line rendered by an OT is its own session (a session has one provider)."""
    text = PT.read_text().replace(
        "SV1*HC:97140:GP*40*UN*1***1~\nDTP*472*D8*20260304~",
        "SV1*HC:97140:GO*40*UN*1***1~\nDTP*472*D8*20260304~\n"
        "NM1*82*1*OTHER*SAM****XX*1234567893~\nPRV*PE*PXC*225X00000X~",
    )
    parts = [s for s in text.replace("\n", "").split("~") if s]
    se = next(i for i, p in enumerate(parts) if p.startswith("SE*"))
    text = text.replace(parts[se], f"SE*{se - 2 + 1}*0001")
    got = visits(text)
    assert [(v.session.provider.discipline, v.positions) for v in got][:2] == [
        ("PT", (1,)),
        ("OT", (2,)),
    ]
