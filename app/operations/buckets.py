"""Log-scale buckets of seconds, 2 % wide: how the insights rollup keeps a distribution.

Bucket 0 holds every value up to ``FLOOR``; bucket ``b`` >= 1 holds
[FLOOR x RATIO^(b-1), FLOOR x RATIO^b). A percentile read from the buckets lies in the
bucket of the exact one (or between the two buckets the exact interpolation spans); the
maximum is kept exactly beside the buckets.
"""

import math
from dataclasses import dataclass, field

import sqlalchemy as sa

FLOOR = 0.001
RATIO = 1.02
_LOG = math.log(RATIO)


def bucket_of(seconds):
    """The bucket of ``seconds`` (Python form of ``bucket_sql``)."""
    if seconds <= FLOOR:
        return 0
    return 1 + math.floor(math.log(seconds / FLOOR) / _LOG)


def bucket_sql(seconds):
    """SQL: the bucket of ``seconds`` (``ln`` and ``floor``: PostgreSQL, SQLite 3.35+)."""
    ratio = sa.func.ln(seconds / sa.literal(FLOOR, sa.Float)) / sa.literal(_LOG, sa.Float)
    whole = sa.cast(sa.func.floor(ratio), sa.Integer)
    return sa.case((seconds <= sa.literal(FLOOR, sa.Float), 0), else_=1 + whole)


def value_of(bucket):
    """The value a bucket stands for: its geometric middle (0 for bucket 0)."""
    return 0.0 if bucket <= 0 else FLOOR * RATIO ** (bucket - 0.5)


def same_bucket_or_next(estimate, exact):
    """Whether ``estimate`` is within one bucket of ``exact`` (what the tests allow)."""
    return abs(bucket_of(estimate) - bucket_of(exact)) <= 1


@dataclass
class Histogram:
    """Counts per bucket of ``n`` values whose maximum is ``top``."""

    counts: dict = field(default_factory=dict)
    n: int = 0
    top: float | None = None

    def add(self, bucket, count, top):
        if count:
            self.counts[bucket] = self.counts.get(bucket, 0) + count
            self.n += count
            self.top = top if self.top is None else max(self.top, top)

    def merge(self, other):
        for bucket, count in other.counts.items():
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        self.n += other.n
        if other.top is not None:
            self.top = other.top if self.top is None else max(self.top, other.top)

    def encode(self):
        """(first bucket, "c0,c1,...") of the buckets from the first to the last."""
        if not self.counts:
            return 0, ""
        low, high = min(self.counts), max(self.counts)
        return low, ",".join(str(self.counts.get(b, 0)) for b in range(low, high + 1))

    @classmethod
    def decode(cls, low, text, n, top):
        counts = {}
        if text:
            for offset, count in enumerate(map(int, text.split(","))):
                if count:
                    counts[low + offset] = count
        return cls(counts, n, top)

    def ranked(self, ranks):
        """{rank: the value of its bucket} of the 0-based ``ranks`` among the sorted values."""
        wanted, found, seen = sorted(set(ranks)), {}, 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            while wanted and wanted[0] < seen:
                found[wanted.pop(0)] = min(value_of(bucket), self.top)
            if not wanted:
                break
        return found
