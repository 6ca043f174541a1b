"""Rules that read the code catalog itself: codes it does not know, add-ons, once-a-day codes.

- ``code.unknown`` (info): a code the catalog does not know, or one that does
  not exist on the date of service, is named as not checked. A report must
  never look like a check that did not happen.
- ``code.add-on``: an add-on code without one of its primary codes on the same
  date of service (97130 without 97129; 97811/97814 without an initial
  acupuncture code 97810/97813), or a once-per-day code billed twice, or with
  another code of its group (20560 with 20561, 98940 with 98941, two PT
  evaluations).

Both apply to every payer: they are CPT coding conventions and CMS code-set
facts, not one payer's policy. Which codes are add-ons (``addon_to``) and which
are once per day (``per_day`` groups) is catalog data (``codes.toml``), each
entry with its public source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._context import Context, Shape
from ..report import Finding, Fix
from ._base import Rule, rule

if TYPE_CHECKING:
    from ..payers import PayerProfile

__all__ = ["addon_codes", "unknown_code"]


def _codes_text(codes: tuple[str, ...] | list[str]) -> str:
    """``97810`` / ``97810 or 97813`` / ``97810, 97813 or 97814``."""
    items = list(codes)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _and_text(codes: list[str]) -> str:
    if len(codes) <= 1:
        return "".join(codes)
    return ", ".join(codes[:-1]) + " and " + codes[-1]


# ------------------------------------------------------------------ code.unknown


def _all_known(shape: Shape, profile: PayerProfile) -> bool:
    """code.unknown's guard: the usual visit, every code known and none of them dated."""
    return not shape.unknown and shape.codes.isdisjoint(shape.catalog.dated_codes)


@rule("code.unknown", quiet=_all_known)
def unknown_code(ctx: Context, r: Rule) -> list[Finding]:
    """A code the catalog does not know, or one not in use on the date of service.

    Unknown codes are not wrong -- the catalog holds what outpatient therapy,
    chiropractic, massage and acupuncture clinics bill -- but nothing about them
    was checked (units, modifiers, pairs, coverage), and a report must say so
    rather than look clean (info, no fix).

    A known code outside its years (``valid_from``/``valid_until`` in the
    catalog: 99201 ended 2020-12-31; 97550 began 2024-01-01) is a warning: the
    payer rejects a code that does not exist on the date of service.
    """
    found: list[Finding] = []
    dos = ctx.dos
    for i, info in enumerate(ctx.infos):
        code = ctx.lines[i].code
        if info is None:
            found.append(
                r.finding(
                    i,
                    f"{code} is not in this library's code catalog, so nothing about it was "
                    f"checked (units, modifiers, code pairs, coverage). Check this line by hand.",
                )
            )
        elif not info.valid_on(dos):
            if info.valid_from is not None and dos < info.valid_from:
                when = f"it is in use from {info.valid_from.isoformat()}"
            else:
                assert info.valid_until is not None
                when = f"it was last in use on {info.valid_until.isoformat()}"
            found.append(
                r.finding(
                    i,
                    f"{code} is not a valid code on this date of service ({when}); the payer "
                    f"will reject it. Bill the code in use on that date.",
                    severity="warning",
                )
            )
    return found


# ------------------------------------------------------------------ code.add-on


def _plain_once_a_day(shape: Shape, profile: PayerProfile) -> bool:
    """code.add-on's guard: no watched code, or only the usual once-a-day modalities
    (97012, G0283), each alone in its group, on one line and not timed (units are
    units.untimed's), and no add-on: nothing to find."""
    here = shape.codes & shape.catalog.per_day_or_addon
    entries = shape.catalog.codes
    by_code = shape.by_code
    kinds: set[str | None] = set()
    for only in here:
        entry = entries[only]
        if entry.addon_to or entry.timed or len(by_code[only]) > 1:
            return False
        kinds.add(entry.per_day)
    return len(kinds) == len(here)


@rule("code.add-on", quiet=_plain_once_a_day)
def addon_codes(ctx: Context, r: Rule) -> list[Finding]:
    """An add-on without its primary, or a once-per-day code billed twice or with a sibling.

    Facts (catalog data, ``codes.toml``, each entry with its source):

    - ``addon_to``: an add-on code (CPT "+" codes: 97130, 97811, 97814, 92608,
      92618, 97546, 97551, 97598, 98981) is billed only beside one of its
      primary codes on the same date of service (CMS NCCI Policy Manual, ch. I).
      Without one -> error on the add-on line, no fix (which primary, and how
      many units move to it, is the clinician's call).
    - ``per_day``: a once-per-day group (CMT 98940-98942; OMT 98925-98929; dry
      needling 20560/20561; initial acupuncture 97810/97813; PT evaluations
      97161-97164; OT evaluations 97165-97168; office E/M; single-session codes
      such as 92507 or 97150) allows one unit of one of its codes per date of
      service. The CMS MUE table agrees: these codes carry an MUE of 1 per day.
      Two codes of a group -> error on each line after the first (no fix: which
      code describes the visit is the clinician's call). The same code on
      several lines, or several units on one line, is ``units.untimed``'s
      business (the code's ``max_units``), except for codes without a session
      count (a timed once-a-day code such as 97129: ``set_units`` 1; several
      lines: ``remove_line`` for the extra ones).
    """
    found: list[Finding] = []
    codes = ctx.codes
    watched = ctx.catalog.per_day_or_addon
    groups: dict[str, list[int]] = {}
    for i, info in enumerate(ctx.infos):
        if info is None or ctx.lines[i].code not in watched:
            continue
        if info.addon_to and codes.isdisjoint(info.addon_to):
            code = info.code
            found.append(
                r.finding(
                    i,
                    f"{code} is an add-on code: it is billed only with "
                    f"{_codes_text(list(info.addon_to))} on the same date of service, and none "
                    f"is on this claim. Bill the first unit of time with the primary code.",
                )
            )
        group = info.per_day
        if group is not None:
            if group in groups:
                groups[group].append(i)
            else:
                groups[group] = [i]
    for lines in groups.values():
        if len(lines) == 1:
            i = lines[0]
            info = ctx.infos[i]
            units = ctx.billed[i]
            if info is not None and info.timed and units is not None and units > 1:
                code = info.code
                found.append(
                    r.finding(
                        i,
                        f"{code} is billed {units} units, but it is billed once per date of "
                        f"service (its time beyond the first unit goes on its add-on code). "
                        f"Bill 1.",
                        fixes=(Fix("set_units", i, 1),),
                    )
                )
            continue
        billed = [ctx.lines[i].code for i in lines]
        distinct = sorted(set(billed))
        for n, i in enumerate(lines[1:], start=1):
            code = billed[n]
            if len(distinct) == 1:
                info = ctx.infos[i]
                if info is not None and info.max_units is not None:
                    continue  # one code on several lines: units.untimed's finding
                found.append(
                    r.finding(
                        i,
                        f"{code} is on {len(lines)} lines, but it is billed once per date of "
                        f"service. Remove the extra line.",
                        fixes=(Fix("remove_line", i),),
                    )
                )
            else:
                found.append(
                    r.finding(
                        i,
                        f"{_and_text(distinct)} are billed on the same date of service, but only "
                        f"one of them may be billed per day: one code describes the whole "
                        f"session. Keep the code that fits what was done and remove the other.",
                    )
                )
    return found
