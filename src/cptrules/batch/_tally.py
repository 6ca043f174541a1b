"""Counting a batch: every record once, by outcome and by rule."""

from __future__ import annotations

import attrs

__all__ = ["Summary"]


@attrs.define
class Summary:
    """What a :func:`check_jsonl` run did: every record is counted exactly once.

    ``records == ok + with_errors + invalid``. ``internal`` counts the invalid
    records that failed inside cptrules (a bug), ``rules`` the findings of
    severity error or warning per rule id (what needs someone's attention),
    ``notes`` the info findings per rule id, ``last_record`` the number of the
    last record written, and
    ``interrupted`` says the run stopped early on Ctrl-C (the output then holds
    whole records only, up to ``last_record``).
    """

    records: int = 0
    ok: int = 0
    with_errors: int = 0
    invalid: int = 0
    internal: int = 0
    rules: dict[str, int] = attrs.field(factory=dict)
    notes: dict[str, int] = attrs.field(factory=dict)
    last_record: int | None = None
    interrupted: bool = False
    seconds: float = 0.0

    def add(self, tally: _Tally) -> None:
        """Fold one chunk's counts in."""
        self.records += tally[0] + tally[1] + tally[2]
        self.ok += tally[0]
        self.with_errors += tally[1]
        self.invalid += tally[2]
        self.internal += tally[3]
        for rule_id, n in tally[4].items():
            self.rules[rule_id] = self.rules.get(rule_id, 0) + n
        for rule_id, n in tally[5].items():
            self.notes[rule_id] = self.notes.get(rule_id, 0) + n
        self.last_record = tally[6]

    def merge(self, other: Summary) -> None:
        """Fold another run's summary in (the CLI's total over several files)."""
        self.add(
            (
                other.ok,
                other.with_errors,
                other.invalid,
                other.internal,
                other.rules,
                other.notes,
                other.last_record,
            )
        )
        self.interrupted = self.interrupted or other.interrupted
        self.seconds += other.seconds

    def top_rules(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` rules with most error and warning findings, most first (ties by id)."""
        return sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @property
    def exit_code(self) -> int:
        """The CLI exit code: 130 interrupted, 2 any invalid or no records, 1 any errors, else 0."""
        if self.interrupted:
            return 130
        if self.invalid or not self.records:
            return 2
        return 1 if self.with_errors else 0

    def format(self) -> str:
        """The summary for people (the CLI prints it on stderr)."""
        rate = f", {self.records / self.seconds:,.0f}/s" if self.seconds > 0 else ""
        head = (
            f"{self.records:,} records: {self.ok:,} ok, {self.with_errors:,} with errors, "
            f"{self.invalid:,} invalid"
        )
        if self.internal:
            head += f" ({self.internal:,} by an internal error)"
        lines = [f"{head} ({self.seconds:.1f} s{rate})"]
        top = self.top_rules()
        if top:
            lines.append("top rules by findings (errors and warnings):")
            width = len(f"{top[0][1]:,}")
            lines += [f"  {n:>{width},}  {rule_id}" for rule_id, n in top]
        if self.notes:
            lines.append(f"and {sum(self.notes.values()):,} notes (info)")
        return "\n".join(lines)


# (ok, with errors, invalid, internal, error/warning findings per rule, info
# findings per rule, last record number)
_Tally = tuple[int, int, int, int, dict[str, int], dict[str, int], int | None]
