"""Rules of the timing family: clock times of one-on-one timed services.

- ``time.overlap``: two timed lines whose clock times overlap, or a timed line
  billing more minutes than its own clock span (three sources agree: timed
  codes need undivided one-on-one attention; split attention is 97150).

Messages give codes, line indices and minutes, never the clock times: the
library keeps other input data out of messages.
"""

from __future__ import annotations

import datetime as dt

from .._context import Context
from ..report import Finding
from ._base import Rule, rule

__all__ = ["overlap"]


class _MinuteOf(dict[dt.time, int]):
    """Clock time -> minutes since midnight (whole minutes, as the parser gives them).

    Filled as times turn up: the parser's times are whole minutes, 1,440 at most
    (a session built by hand may carry seconds; those are not kept).
    """

    def __missing__(self, t: dt.time) -> int:
        got = t.hour * 60 + t.minute
        if len(self) < 1440:
            self[t] = got
        return got


_MINUTE_OF = _MinuteOf()


def _minutes(n: int) -> str:
    return f"{n} minute" if n == 1 else f"{n} minutes"


# --------------------------------------------------------------------------- time.overlap


@rule("time.overlap")
def overlap(ctx: Context, r: Rule) -> list[Finding]:
    """Timed (one-on-one) services may not share clock minutes, nor bill more than their span.

    Source (three sources agree): timed codes need undivided one-on-one
    attention (split attention is 97150, group); two sources: only
    direct one-on-one time counts. So the same clock minutes cannot count for
    two timed codes, and a line cannot bill more minutes than it lasted.

    Only lines of timed codes with both ``start`` and ``end`` take part (the
    parser guarantees both or neither, and ``end >= start``). Intervals are
    half-open, ``[start, end)``: one line ending 10:15 and the next starting
    10:15 *touch*, they do not overlap; a zero-length line overlaps nothing.

    Two kinds of **error**, both under this id:

    - overlap: lines sorted by start (O(n log n)) and swept once, keeping the
      line that reaches latest so far; each line starting before that one ends
      gets one finding naming it and the minutes shared;
    - span: a line whose ``minutes`` exceed ``end - start``.

    No fixes: whether the times or the minutes are wrong is for the clinician.
    """
    clocked: list[tuple[int, int, int]] = []
    found: list[Finding] = []
    lines = ctx.lines
    minute_of = _MINUTE_OF
    # Whether each line (of some length) starts when or after the one before it
    # ends, in line order, as a visit's lines are usually written: then no two
    # of them share a minute, and the sweep below has nothing to find.
    in_order = True
    last_end = -1
    for i in ctx.clocked:  # timed lines with a start time
        line = lines[i]
        t0, t1 = line.start, line.end
        if t0 is None or t1 is None:
            continue
        start = minute_of[t0]
        end = minute_of[t1]
        span = end - start
        if line.minutes is not None and line.minutes > span:
            found.append(
                r.finding(
                    i,
                    f"This {line.code} bills {_minutes(line.minutes)} but its start and end "
                    f"times span only {_minutes(span)}: one-on-one minutes cannot exceed the "
                    "time the service lasted; correct the minutes or the clock times.",
                )
            )
        if span > 0:
            clocked.append((start, end, i))
            if start < last_end:
                in_order = False
            last_end = end
    if in_order:
        return found
    clocked.sort()
    reach_end, reach_line = clocked[0][1], clocked[0][2]
    for start, end, i in clocked[1:]:
        if start < reach_end:
            shared = min(end, reach_end) - start
            other = ctx.lines[reach_line].code
            found.append(
                r.finding(
                    i,
                    f"This {ctx.lines[i].code} overlaps the {other} on line {reach_line} by "
                    f"{_minutes(shared)}: timed codes need undivided one-on-one attention, so "
                    "the same minutes cannot count twice; correct the clock times and minutes "
                    "so the services follow one another.",
                )
            )
        if end > reach_end:
            reach_end, reach_line = end, i
    return found
