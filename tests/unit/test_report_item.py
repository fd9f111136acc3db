"""A batch item carries what a single heartbeat's statement values carry."""

from datetime import datetime

import pytest

from app.operations.store import Report

AT = datetime(2026, 12, 2, 6, 0, 0)


@pytest.mark.parametrize(
    "report",
    [
        Report(7, None, None, AT),
        Report(7, 0, None, AT.replace(microsecond=5)),
        Report(7, 3, 10, AT),
        Report(7, None, 0, AT.replace(microsecond=999_999)),
    ],
)
def test_an_item_says_what_the_single_statement_says(report):
    item = report.item()
    assert item == {
        "run_id": report.run_id,
        "processed": report.processed,
        "total": report.total,
        "at": report.at.isoformat(timespec="microseconds"),
        "data": report.event_data(),
        "regression": report.regression_data(),
    }
    assert datetime.fromisoformat(item["at"]) == report.at
    assert list(item["data"]) == list(report.event_data())  # json keeps the key order
    assert list(item["regression"]) == list(report.regression_data())
