"""Log-scale buckets of seconds, 2 % wide: how the insights rollup keeps a distribution.

Bucket 0 holds every value up to ``FLOOR``; bucket ``b`` >= 1 holds
[FLOOR x RATIO^(b-1), FLOOR x RATIO^b). A percentile read from the buckets lies in the
bucket of the exact one (or between the two buckets the exact interpolation spans); the
maximum is kept exactly beside the buckets.
"""

import array
import bisect
import itertools
import math
import operator
import sys
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


@dataclass
class Histogram:
    """Counts per bucket of ``n`` values whose maximum is ``top``: ``counts[i]`` values in
    bucket ``low + i`` (a dense list: adding two is a C loop, not a dict per bucket)."""

    low: int = 0
    counts: list = field(default_factory=list)
    n: int = 0
    top: float | None = None

    def _count_top(self, count, top):
        self.n += count
        if top is not None:
            self.top = top if self.top is None else max(self.top, top)

    def _widened(self, low, high):
        """``counts`` over buckets ``low`` to ``high`` (excluded), zeros around."""
        before, after = self.low - low, high - self.low - len(self.counts)
        return [0] * before + self.counts + [0] * after

    def add(self, bucket, count, top):
        if not count:
            return
        if not self.counts:
            self.low, self.counts = bucket, [0]
        elif bucket < self.low:
            self.counts[:0] = [0] * (self.low - bucket)
            self.low = bucket
        index = bucket - self.low
        if index >= len(self.counts):
            self.counts.extend([0] * (index + 1 - len(self.counts)))
        self.counts[index] += count
        self._count_top(count, top)

    def merge(self, other):
        if other.counts:
            if not self.counts:
                self.low, self.counts = other.low, list(other.counts)
            else:
                low = min(self.low, other.low)
                high = max(self.low + len(self.counts), other.low + len(other.counts))
                mine, theirs = self._widened(low, high), other._widened(low, high)
                self.low, self.counts = low, list(map(operator.add, mine, theirs))
        self._count_top(other.n, other.top)

    @classmethod
    def total(cls, histograms):
        """One Histogram of all ``histograms``: the columns of their counts, each padded to
        one range, summed (C loops, no Python step per bucket)."""
        held = [h for h in histograms if h.counts]
        tops = [h.top for h in histograms if h.top is not None]
        n = sum(h.n for h in histograms)
        if not held:
            return cls(0, [], n, max(tops, default=None))
        low = min(h.low for h in held)
        high = max(h.low + len(h.counts) for h in held)
        rows = [h._widened(low, high) for h in held]
        return cls(low, list(map(sum, zip(*rows, strict=True))), n, max(tops, default=None))

    def items(self):
        """(bucket, count) of the buckets holding values."""
        return [(self.low + i, c) for i, c in enumerate(self.counts) if c]

    def encode(self):
        """(first bucket, the counts from it as little-endian unsigned 32-bit integers):
        what a rollup row keeps (read back without parsing)."""
        packed = array.array("I", self.counts)
        if sys.byteorder == "big":
            packed.byteswap()
        return self.low, packed.tobytes()

    @classmethod
    def decode(cls, low, packed, n, top):
        counts = array.array("I")
        counts.frombytes(bytes(packed or b""))
        if sys.byteorder == "big":
            counts.byteswap()
        return cls(low, counts.tolist(), n, top)

    def ranked(self, ranks):
        """{rank: the value of its bucket} of the 0-based ``ranks`` among the sorted values."""
        seen = list(itertools.accumulate(self.counts))
        found = {}
        for rank in set(ranks):
            offset = bisect.bisect_right(seen, rank)  # the first bucket holding the rank
            found[rank] = min(value_of(self.low + offset), self.top)
        return found
