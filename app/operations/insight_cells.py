"""What the insights add up: one Cell per (workspace, tenant, type, UTC day), from the
raw runs (``cells_from``) or from a rollup row (``cell_of_row``), and back (``row_of``).

Counts are exact; each measure is a Histogram of 2 % buckets with its exact maximum. The
false-alarm counts and the "noticed after" sums depend on the type's windows: a rollup
row names them by ``fingerprint`` and is read only while they are still the policy's.
"""

import hashlib
from dataclasses import astuple, dataclass, field, replace
from datetime import date, datetime, timedelta

from app.models.insight_rollup import COUNT_COLUMNS, MEASURE_COLUMNS
from app.operations.buckets import Histogram
from app.operations.freshness import upcoming_stale_at

MEASURES = MEASURE_COLUMNS


def fingerprint(op_type):
    """A short name of every window of ``op_type`` (its label aside)."""
    text = repr(astuple(replace(op_type, label="")))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _histograms():
    return {name: Histogram() for name in MEASURES}


@dataclass
class Cell:
    """Completed runs: ``counts`` in COUNT_COLUMNS order, the "noticed after" sums of the
    reconciled ones (seconds), and a Histogram per measure."""

    counts: list = field(default_factory=lambda: [0] * len(COUNT_COLUMNS))
    shown: float = 0.0
    closed: float = 0.0
    measures: dict = field(default_factory=_histograms)

    @classmethod
    def total(cls, cells):
        """One Cell of all ``cells`` (left as they are)."""
        counts = [sum(column) for column in zip(*(c.counts for c in cells), strict=True)]
        measures = {m: Histogram.total([c.measures[m] for c in cells]) for m in MEASURES}
        shown, closed = sum(c.shown for c in cells), sum(c.closed for c in cells)
        return cls(counts or [0] * len(COUNT_COLUMNS), shown, closed, measures)

    def merge(self, other):
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.shown += other.shown
        self.closed += other.closed
        for name in MEASURES:
            self.measures[name].merge(other.measures[name])
        return self


def as_date(value):
    """The day of an instant, or of a day as the database answers it (a date on
    PostgreSQL, text on SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def noticed(run, policy):
    """(seconds from the run's last sign of life until the one truth showed it likely
    stale, and until it was closed) of a reconciled run: the Python form of the sums the
    counts statement adds up (``freshness.stale_after_sign``)."""
    last_sign = run.last_heartbeat_at or run.started_at or run.created_at
    active = run._replace(status="running" if run.started_at else "queued")
    stale_at = upcoming_stale_at(active, policy)
    second = timedelta(seconds=1)
    return (stale_at - last_sign) / second, (run.reconciled_at - last_sign) / second


def cells_from(rows):
    """{(workspace id, tenant id, type, day): Cell} of ``RunReads.insight_rows``' rows."""
    counts_rows, bucket_rows = rows
    cells = {}

    def cell(key):
        key = (*key[:3], as_date(key[3]))
        found = cells.get(key)
        if found is None:
            found = cells[key] = Cell()
        return found

    for row in counts_rows:
        found = cell(row[:4])
        found.counts = [int(v) for v in row[4:-2]]
        found.shown, found.closed = float(row[-2]), float(row[-1])
    for index, *key, bucket, n, top in bucket_rows:
        cell(key).measures[MEASURES[index]].add(int(bucket), int(n), float(top))
    return cells


def cell_of_row(row):
    """The Cell of one ``insight_days`` row."""
    measures = {
        name: Histogram.decode(
            row[f"{name}_low"], row[f"{name}_counts"], row[f"{name}_n"], row[f"{name}_max"]
        )
        for name in MEASURES
    }
    counts = [row[name] for name in COUNT_COLUMNS]
    return Cell(counts, row["noticed_shown"], row["noticed_closed"], measures)


def row_of(cell):
    """The column values of ``cell`` for an ``insight_days`` row."""
    values = dict(zip(COUNT_COLUMNS, cell.counts, strict=True))
    values.update(noticed_shown=cell.shown, noticed_closed=cell.closed)
    for name, histogram in cell.measures.items():
        low, text = histogram.encode()
        values.update(
            {
                f"{name}_n": histogram.n,
                f"{name}_max": histogram.top,
                f"{name}_low": low,
                f"{name}_counts": text,
            }
        )
    return values
