"""What the links of one list page cost: ``python -m bench.links``.

A list page links 50 rows (each run's detail with the list to return to, and its tenant).
Times ``run_links``/``tenant_links`` for such a page against plain ``url_for`` per row
(best of ``--repeat`` rounds, microseconds per page). No database is needed.
"""

import argparse
import timeit

from flask import url_for

from app import create_app
from app.presenter.links import run_links, tenant_links
from config import TestConfig

ROWS = 50
TENANTS = [f"0f8fad5b-d9cb-469f-a165-7086772895{i:02d}" for i in range(10)]
BACK = "/admin/operations?activeTab=active_stale_attention&tenant_id=3&q=a b"


def with_helpers():
    run_link, tenant_link = run_links(BACK), tenant_links()
    for i in range(ROWS):
        run_link(1000 + i)
        tenant_link(TENANTS[i % len(TENANTS)])


def with_url_for():
    for i in range(ROWS):
        url_for("monitoring.run_detail", run_id=1000 + i, back=BACK)
        url_for("tenant.dashboard", tenant_uuid=TENANTS[i % len(TENANTS)])


def main(argv=None):
    """Print microseconds per page for both ways of building its links."""
    parser = argparse.ArgumentParser(prog="python -m bench.links")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args(argv)
    app = create_app(TestConfig("sqlite://"))
    with app.test_request_context("/admin/operations"):
        for name, page in (("run_links + tenant_links", with_helpers), ("url_for", with_url_for)):
            best = min(timeit.repeat(page, number=10, repeat=args.repeat)) / 10
            print(f"{name:26} {best * 1e6:8.0f} us per page of {ROWS} rows")


if __name__ == "__main__":
    main()
