"""Hypothesis strategies for FHIR R4 Claims, built from clean and faulty sessions.

Needs the ``[hypothesis]`` extra; ``import cptrules.fhir`` never imports this module.

- :func:`claims`: ``(claim, session)``: a Claim resource (a dict) and the session
  :func:`~cptrules.fhir.read_fhir` must give back (read with :data:`PAYER_MAP`).
  Service days come as ``servicedDate``, a one-day ``servicedPeriod`` of dates, or
  a period of date-times with an offset whose local day is the day of service
  (the times then become the lines' clock times).
- :func:`junk_fhir`: JSON-shaped values that are not readable claims.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import hypothesis.strategies as st

from ..models import Session
from ..x12.strategies import PAYER_MAP, claim_sessions
from ._writer import dump_claim

__all__ = ["PAYER_MAP", "claims", "junk_fhir"]


@st.composite
def claims(draw: st.DrawFn, *, faulty: bool | None = None) -> tuple[dict[str, Any], Session]:
    """A FHIR Claim and the session it carries."""
    session = draw(claim_sessions(faulty=faulty))
    claim_id = draw(
        st.text(alphabet="abcdefghijkmnpqrstuvwxyz0123456789-.", min_size=1, max_size=40)
    )
    claim = dump_claim(session, claim_id, payer_map=PAYER_MAP)
    how = draw(st.sampled_from(("date", "period", "datetime")))
    day = session.date_of_service.isoformat()
    if how == "period":
        for item in claim["item"]:
            del item["servicedDate"]
            item["servicedPeriod"] = {"start": day, "end": day}
    elif how == "datetime":
        hour = draw(st.integers(0, 22))
        minute = draw(st.integers(0, 59))
        offset = draw(st.sampled_from(("Z", "-05:00", "+14:00", "-12:00", "+05:30")))
        start = dt.time(hour, minute)
        end = dt.time(hour + 1, minute)
        for item in claim["item"]:
            del item["servicedDate"]
            item["servicedPeriod"] = {
                "start": f"{day}T{start.isoformat()}{offset}",
                "end": f"{day}T{end.isoformat()}{offset}",
            }
        lines = tuple(attrs.evolve(ln, start=start, end=end) for ln in session.lines)
        session = attrs.evolve(session, lines=lines)
    return claim, session


def junk_fhir() -> st.SearchStrategy[Any]:
    """JSON-like values, and claims with fields of the wrong shape."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
    json_like = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=20,
    )

    @st.composite
    def broken(draw: st.DrawFn) -> Any:
        claim, _ = draw(claims())
        item = draw(st.sampled_from(claim["item"]))
        key = draw(
            st.sampled_from(
                ("quantity", "servicedDate", "diagnosisSequence", "modifier", "productOrService")
            )
        )
        item[key] = draw(json_like)
        if draw(st.booleans()):
            claim[draw(st.sampled_from(("careTeam", "diagnosis", "insurer", "item")))] = draw(
                json_like
            )
        return claim

    return st.one_of(
        json_like, broken(), json_like.map(lambda v: {"resourceType": "Claim", "item": v})
    )
