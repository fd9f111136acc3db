"""Hypothesis strategies for hostile input: JSON values, numbers, text, timestamps, ids."""

import base64
import calendar
from datetime import timedelta

from hypothesis import strategies as st

from tests.conftest import T0

MAX_INT64 = 2**63 - 1

SQL_PAYLOADS = (
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE operation_runs; --",
    "'; DELETE FROM operation_runs WHERE '1'='1",
    "1 UNION SELECT token_hash, NULL FROM api_tokens --",
    "' UNION SELECT password_hash FROM users --",
    "admin'--",
    "1' AND SLEEP(5)--",
    "'; SELECT pg_sleep(5); --",
    "$$; TRUNCATE tenants; $$",
    "%' OR tenant_id IS NOT NULL OR '%'='",
    "\\'; UPDATE operation_runs SET status='completed'; --",
    "') OR ('a'='a",
    "1 OR 1=1",
    "*/ OR /* 1=1",
    "ω' OR 'ω'='ω",
    "'; COPY (SELECT '') TO PROGRAM 'id'; --",
    "%00' OR 1=1 --",
)
SQL_STRINGS = st.sampled_from(SQL_PAYLOADS) | st.builds(
    lambda prefix, payload, suffix: prefix + payload + suffix,
    st.text(max_size=5),
    st.sampled_from(SQL_PAYLOADS),
    st.sampled_from(("", " --", ";", "/*", "'")),
)

SPECIAL_CHARS = ("\x00", "\u202e", "\ufeff", "\u200b", "\U0001f642", "\u0301", "\uffff", "\x7f")
SURROGATES = st.characters(categories=["Cs"])
UNICODE_TEXT = st.text(
    alphabet=st.characters() | SURROGATES | st.sampled_from(SPECIAL_CHARS), max_size=40
)


def _with_bad_char(text, char, at):
    at = at % (len(text) + 1)
    return text[:at] + char + text[at:]


# Text that a database cannot take: at least one NUL or unpaired surrogate somewhere.
UNSTORABLE_TEXT = st.builds(
    _with_bad_char,
    st.text(max_size=30),
    st.just("\x00") | SURROGATES,
    st.integers(min_value=0, max_value=40),
)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

HUGE_INTEGERS = st.integers(min_value=MAX_INT64 + 1) | st.integers(
    min_value=MAX_INT64 + 1, max_value=10**300
)
NEGATIVE_NUMBERS = (
    st.integers(max_value=-1)
    | st.integers(min_value=-(10**30), max_value=-(2**63))
    | st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)
)
# Literals a strict JSON parser must refuse (they are not JSON numbers).
NON_JSON_NUMBERS = st.sampled_from(("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999"))
# Integers with more digits than Python parses from text (4300): refused as malformed.
TOO_MANY_DIGITS = st.integers(min_value=4301, max_value=6000).map(lambda n: "9" * n)

NOW = T0
LATEST_ACCEPTED = T0 + timedelta(minutes=5)


def _stamp(year, month, day, hour, minute, second, offset):
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}"


def _offset(sign, hours, minutes):
    return f"{sign}{hours:02d}:{minutes:02d}"


VALID_OFFSET = st.sampled_from(("Z", "+00:00", "-05:00", "+14:00"))
_DAY = st.integers(min_value=1, max_value=28)

OUT_OF_RANGE_STAMPS = st.one_of(
    st.builds(
        _stamp,
        st.just(0),
        st.integers(1, 12),
        _DAY,
        st.just(0),
        st.just(0),
        st.just(0),
        VALID_OFFSET,
    ),
    st.builds(
        _stamp,
        st.integers(1, 9999),
        st.sampled_from((0, 13, 99)),
        _DAY,
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        VALID_OFFSET,
    ),
    st.builds(
        _stamp,
        st.integers(1, 9999),
        st.integers(1, 12),
        st.sampled_from((0, 32, 99)),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        VALID_OFFSET,
    ),
    st.builds(
        _stamp,
        st.integers(1, 2026),
        st.integers(1, 12),
        _DAY,
        st.integers(24, 99),
        st.integers(0, 59),
        st.integers(0, 59),
        VALID_OFFSET,
    ),
    st.builds(
        _stamp,
        st.integers(1, 2026),
        st.integers(1, 12),
        _DAY,
        st.integers(0, 23),
        st.integers(60, 99),
        st.integers(0, 59),
        VALID_OFFSET,
    ),
    st.builds(
        _stamp,
        st.integers(1, 9999),
        st.integers(1, 12),
        _DAY,
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(60, 99),
        VALID_OFFSET,
    ),
    st.just("9999-12-31T23:59:60Z"),
    st.just("0000-01-01T00:00:00Z"),
)


def _impossible_day(year, month):
    last = calendar.monthrange(year, month)[1]
    return _stamp(year, month, last + 1, 12, 0, 0, "Z") if last < 31 else None


IMPOSSIBLE_DATES = st.builds(
    _impossible_day, st.integers(1, 2026), st.sampled_from((2, 4, 6, 9, 11))
)
BAD_OFFSETS = st.builds(
    lambda stamp, offset: stamp + offset,
    st.just("2026-11-26T11:00:00"),
    st.one_of(
        st.builds(_offset, st.sampled_from("+-"), st.integers(24, 99), st.integers(0, 59)),
        st.builds(_offset, st.sampled_from("+-"), st.integers(0, 23), st.integers(60, 99)),
        st.just("+25:00"),
    ),
)
# Valid wall-clock times whose offset pushes UTC outside years 1-9999.
OVERFLOWING_STAMPS = st.one_of(
    st.builds(
        lambda h, m, off_h, off_m: _stamp(9999, 12, 31, h, m, 59, _offset("-", off_h, off_m)),
        st.integers(23, 23),
        st.integers(0, 59),
        st.integers(1, 23),
        st.integers(0, 59),
    ),
    st.builds(
        lambda h, m, off_h: _stamp(1, 1, 1, h, m, 0, _offset("+", off_h, 0)),
        st.integers(0, 0),
        st.integers(0, 59),
        st.integers(1, 23),
    ),
)
FUTURE_STAMPS = st.datetimes(
    min_value=(LATEST_ACCEPTED + timedelta(seconds=1)).replace(microsecond=0),
    max_value=T0.replace(year=9999),
).map(lambda at: at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
SYNTAX_JUNK = st.sampled_from(
    (
        "",
        "Z",
        "now",
        "yesterday",
        "2026-11-26",
        "2026-11-26 12:00:00Z",
        "2026-11-26t12:00:00z",
        "2026-11-26T12:00:00.1234567Z",
        "2026-W48-4T12:00:00Z",
        "2026-330T12:00:00Z",
        "１９７０-01-01T00:00:00Z",
        "2026-11-26T12:00:00Zjunk",
        "+02026-11-26T12:00:00Z",
        "-2026-11-26T12:00:00Z",
        "1795000000",
        "2026-11-26T12:00:00+0000000",
        "2026-11-26T12:00:00 +00:00",
    )
)
BAD_TIMESTAMPS = st.one_of(
    OUT_OF_RANGE_STAMPS,
    IMPOSSIBLE_DATES,
    BAD_OFFSETS,
    OVERFLOWING_STAMPS,
    FUTURE_STAMPS,
    SYNTAX_JUNK,
)


def before(at):
    """Valid timestamps strictly before ``at`` (refused where a run's start or creation bounds
    them)."""
    return st.datetimes(min_value=at.replace(year=1), max_value=at - timedelta(seconds=1)).map(
        lambda value: value.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


DIGIT_SETS = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९")


def _in_digits(number, digits):
    return "".join(digits[int(char)] for char in str(number))


# Path ids that name no run: zero, negative, beyond any id column, non-digits, other scripts.
MISSING_IDS = st.one_of(
    st.sampled_from(
        (
            "0",
            "-1",
            "-0",
            str(2**31),
            str(MAX_INT64),
            str(2**63),
            "99999999999999999999",
            str(10**40),
            "1.0",
            "1e3",
            "0x10",
            "+1",
            " 1",
            "1 ",
            "1;2",
            "..",
            "%",
            "null",
        )
    ),
    st.integers(min_value=10**6).map(str),
    st.integers(max_value=-1).map(str),
    st.builds(
        _in_digits, st.integers(min_value=10**6, max_value=10**30), st.sampled_from(DIGIT_SETS)
    ),
    st.text(min_size=1, max_size=20).filter(
        lambda text: "/" not in text and "\\" not in text and not text.isdigit()
    ),
)


def _b64(text):
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode().rstrip("=")


CURSORS = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda date, run_id: _b64(f"{date}|{run_id}"),
        st.one_of(BAD_TIMESTAMPS, st.text(max_size=20), st.just("2026-11-26T12:00:00")),
        st.one_of(st.integers().map(str), st.text(max_size=10)),
    ),
    st.builds(_b64, st.text(max_size=40)),
    st.sampled_from(SQL_PAYLOADS),
)
