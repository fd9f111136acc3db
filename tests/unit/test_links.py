"""Links: a run's detail link is url_for's path with the list to return to, encoded once."""

import pytest
from flask import url_for

from app.presenter.links import (
    operations_url,
    run_links,
    safe_back,
    tenant_links,
    tenant_operations_url,
)

BACKS = [
    None,
    "/admin/operations",
    "/admin/operations?activeTab=active_stale_attention&tenant_id=3",
    "/admin/operations?q=a b&x=%41#frag",
    "/admin/operations?q=ä/ö?&=#%&t=x+y;z@!$'()*,:",
    "https://evil.example/admin/operations",
    "//evil.example/admin/operations",
    "/admin/operations/../../elsewhere",
]


@pytest.mark.parametrize("script_name", ["", "/runwarden", "/with space"])
def test_run_links_equal_url_for_with_back(app, script_name):
    with app.test_request_context("/admin", environ_base={"SCRIPT_NAME": script_name}):
        for back in BACKS:
            link = run_links(back)
            for run_id in (0, 1, 42, 2**31 - 1, "17"):
                expected = url_for(
                    "monitoring.run_detail", run_id=int(run_id), back=safe_back(back)
                )
                assert link(run_id) == expected


TENANT_QUERIES = [
    {},
    {"activeTab": "terminal_follow_up"},
    {"activeTab": "active_stale_attention", "problemClass": "active_stale_attention"},
    {"activeTab": None, "type": ""},
    {"q": "ä/ö?&=#%+ x;@!$'()*,:", "activeTab": "active"},
]


@pytest.mark.parametrize("script_name", ["", "/runwarden", "/with space"])
def test_tenant_operations_urls_equal_url_for(app, script_name):
    with app.test_request_context("/admin", environ_base={"SCRIPT_NAME": script_name}):
        for params in TENANT_QUERIES:
            for tenant_id in (0, 1, 42, 2**31 - 1, "17"):
                expected = operations_url(tenant_id=int(tenant_id), **params)
                assert tenant_operations_url(tenant_id, **params) == expected


def test_tenant_operations_url_refuses_a_tenant_id_that_is_not_a_number(app):
    with app.test_request_context("/admin"):
        for hostile in ("1&tenant_id=2", "x", None):
            with pytest.raises((ValueError, TypeError)):
                tenant_operations_url(hostile)


def test_back_is_kept_only_for_the_canonical_list(app):
    assert safe_back("/admin/operations?tenant_id=3") == "/admin/operations?tenant_id=3"
    for hostile in BACKS[5:] + ["", 42, "/admin/operationsX", "\\\\evil", "//["]:
        assert safe_back(hostile) is None
    with app.test_request_context("/admin"):
        assert run_links("https://evil.example/admin/operations")(5) == "/admin/operations/5"


def test_list_links_drop_empty_values_and_tenant_links_are_built_once(app):
    with app.test_request_context("/admin"):
        assert operations_url(tenant_id=7, type=None, status="") == "/admin/operations?tenant_id=7"
        assert operations_url() == "/admin/operations"
        link = tenant_links()
        uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
        assert link(uuid) is link(uuid) and link(uuid).endswith(f"/{uuid}")


def test_links_are_paths_when_rendered_outside_a_request(app):
    from app.live.render import render_context

    with render_context(app):
        assert (
            run_links("/admin/operations?x=1")(5)
            == "/admin/operations/5?back=/admin/operations?x%3D1"
        )
        assert run_links()(5) == "/admin/operations/5"
        assert operations_url(tenant_id=7) == "/admin/operations?tenant_id=7"
        assert tenant_operations_url(7, activeTab="active") == (
            "/admin/operations?tenant_id=7&activeTab=active"
        )
        assert tenant_links()("abc") == "/admin/t/abc"
