"""Hypothesis strategies for 837P text, built from clean and faulty sessions.

Needs the ``[hypothesis]`` extra. ``import cptrules`` and ``import cptrules.x12``
never import this module.

- :func:`claim_sessions`: sessions reduced to what an 837P carries
  (:func:`carried`), drawn from :func:`cptrules.strategies.clean_sessions` and
  :func:`cptrules.strategies.faulty_sessions`;
- :func:`interchanges`: ``(text, claims)``: an 837P interchange and the
  ``(claim id, session)`` pairs it carries, which :func:`~cptrules.x12.read_837`
  must give back (read with :data:`PAYER_MAP`);
- :func:`junk_837`: bytes that look more or less like an 837P: truncated
  envelopes, wrong counts, dropped or doubled segments, flipped delimiters,
  binary noise. The reader must answer each with its own errors only.
"""

from __future__ import annotations

import hypothesis.strategies as st

from .._interop import PayerMap, bundled_payer_map, taxonomy_map
from ..models import ServiceLine, Session
from ..payers import bundled_profiles
from ._reader import MAX_CLAIM_LINES, MAX_DIAGNOSES
from ._writer import dump_837

__all__ = ["PAYER_MAP", "carried", "claim_sessions", "interchanges", "junk_837"]

#: The bundled payer map plus a payer id for every bundled profile (``ID-MEDICARE``...).
PAYER_MAP: PayerMap = bundled_payer_map().merged(
    PayerMap(payer_ids={f"ID-{pid.upper()}": pid for pid in bundled_profiles().ids()})
)

_FAULTS = (
    "units.total-time",
    "modifier.therapy",
    "modifier.unknown",
    "coverage.bundled",
    "ncci.ptp",
)


def _line(line: ServiceLine) -> ServiceLine:
    if line.units is not None:
        units, minutes = line.units, None
    elif line.minutes is not None:
        units, minutes = None, line.minutes
    else:
        units, minutes = 1, None
    return ServiceLine(
        code=line.code,
        units=units,
        minutes=minutes,
        modifiers=line.modifiers[:4],
        diagnosis_pointers=line.diagnosis_pointers[:4],
    )


def carried(session: Session) -> Session:
    """``session`` reduced to what an 837P line carries: code, up to four modifiers,
    units (UN) or else minutes (MJ), up to four diagnosis pointers; the date,
    payer, provider and diagnoses. Lines without either get one unit."""
    return Session(
        date_of_service=session.date_of_service,
        payer=session.payer,
        provider=session.provider,
        lines=tuple(_line(ln) for ln in session.lines[:MAX_CLAIM_LINES]),
        diagnoses=session.diagnoses[:MAX_DIAGNOSES],
    )


def _writable(session: Session) -> bool:
    return session.provider.discipline in taxonomy_map().primary


def claim_sessions(*, faulty: bool | None = None) -> st.SearchStrategy[Session]:
    """Clean or faulty sessions (either when ``faulty`` is None) as an 837P carries them."""
    from .. import strategies as cs

    clean = st.sampled_from(("medicare", "commercial", "aetna")).flatmap(
        lambda p: cs.clean_sessions(payer=p)
    )
    bad = st.sampled_from(_FAULTS).flatmap(lambda r: cs.faulty_sessions(rule=r))
    base = clean if faulty is False else bad if faulty else st.one_of(clean, bad)
    return base.filter(_writable).map(carried)


_CLAIM_ID = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)


@st.composite
def interchanges(
    draw: st.DrawFn, *, faulty: bool | None = None, max_claims: int = 4, newline: bool | None = None
) -> tuple[str, list[tuple[str, Session]]]:
    """An 837P interchange of 1..``max_claims`` claims and the (claim id, session) pairs in it."""
    sessions = draw(st.lists(claim_sessions(faulty=faulty), min_size=1, max_size=max_claims))
    ids = draw(st.lists(_CLAIM_ID, min_size=len(sessions), max_size=len(sessions), unique=True))
    claims = list(zip(ids, sessions, strict=True))
    nl = draw(st.booleans()) if newline is None else newline
    return dump_837(claims, payer_map=PAYER_MAP, newline=nl), claims


def _segments(text: str) -> list[str]:
    return [s for s in text.replace("\n", "").split("~") if s]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    text, _ = draw(interchanges(max_claims=2))
    segs = _segments(text)
    how = draw(st.sampled_from(("truncate", "drop", "double", "count", "flip", "splice", "bytes")))
    if how == "truncate":
        raw = "~".join(segs) + "~"
        return raw[: draw(st.integers(0, len(raw)))].encode()
    if how == "drop":
        del segs[draw(st.integers(0, len(segs) - 1))]
    elif how == "double":
        k = draw(st.integers(0, len(segs) - 1))
        segs.insert(k, segs[k])
    elif how == "count":
        k = draw(st.sampled_from([i for i, s in enumerate(segs) if s[:2] in ("SE", "GE", "IE")]))
        parts = segs[k].split("*")
        if len(parts) > 1:
            parts[1] = str(draw(st.integers(0, 99)))
        segs[k] = "*".join(parts)
    elif how == "flip":
        raw = "~".join(segs) + "~"
        k = draw(st.integers(0, len(raw) - 1))
        ch = draw(st.sampled_from("*:~^>|\n0A\x00\xe9"))
        return (raw[:k] + ch + raw[k + 1 :]).encode("utf-8")
    elif how == "splice":
        k = draw(st.integers(0, len(segs) - 1))
        segs[k] = draw(st.text(max_size=40))
    else:
        data = ("~".join(segs) + "~").encode()
        k = draw(st.integers(0, len(data)))
        return data[:k] + draw(st.binary(max_size=64)) + data[k:]
    return ("~".join(segs) + "~").encode("utf-8", "surrogatepass")


def junk_837() -> st.SearchStrategy[bytes]:
    """Broken 837P input: mutated interchanges, and arbitrary bytes (some starting ``ISA``)."""
    return st.one_of(
        _mutated(),
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"ISA" + b),
    )
