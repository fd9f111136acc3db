"""Links are filled into paths built once per request: they must equal ``url_for``."""

import pytest
from flask import url_for

from app.presenter.links import operations_url, run_url, tenant_url

AWKWARD = ["plain", "a b", "ä/ö?&=#%", "x+y;z@!$'()*,:", "", "../..", "東京"]
BACKS = [
    None,
    "/admin/operations",
    "/admin/operations?activeTab=active_stale_attention&tenant_id=3",
    "/admin/operations?q=a b&x=%41#frag",
    "https://evil.example/admin/operations",
]


@pytest.mark.parametrize("script_name", ["", "/runwarden", "/with space"])
def test_links_equal_url_for(app, script_name):
    with app.test_request_context("/admin", environ_base={"SCRIPT_NAME": script_name}):
        for run_id in (1, 42, 2**31 - 1):
            for back in BACKS:
                expected = url_for(
                    "monitoring.run_detail",
                    run_id=run_id,
                    back=back if back and back.startswith("/admin/operations") else None,
                )
                assert run_url(run_id, back) == expected
        for value in [*AWKWARD, "0f8fad5b-d9cb-469f-a165-70867728950e"]:
            if value and value != "../..":
                assert tenant_url(value) == url_for("tenant.dashboard", tenant_uuid=value)
        for value in AWKWARD:
            params = {"tenant_id": 7, "activeTab": value, "type": None, "status": ""}
            kept = {k: v for k, v in params.items() if v not in (None, "")}
            assert operations_url(**params) == url_for("monitoring.operations", **kept)
        assert operations_url() == url_for("monitoring.operations")
