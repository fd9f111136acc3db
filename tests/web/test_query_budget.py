"""Pages issue a fixed number of queries, whatever the number of tenants, runs or events."""

from tests.conftest import T0, counted, login
from tests.factories import make_member, make_run, make_tenant, make_user, make_workspace


def queries(client, db, url):
    with counted(db) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def grow(ws, tenants, runs_each):
    for tenant in tenants:
        for index in range(runs_each):
            make_run(ws, tenant, now=T0, age=60 + index * 400, heartbeat_ago=30)
        make_run(ws, tenant, now=T0, status="completed", outcome="failed", completed_ago=60)


def test_query_count_does_not_grow_with_data(client, db):
    ws = make_workspace()
    owner = make_user()
    make_member(owner, ws, "owner")
    tenants = [make_tenant(ws) for _ in range(2)]
    grow(ws, tenants, 2)
    login(client, owner)
    first = tenants[0]
    run_id = make_run(ws, first, now=T0).id
    pages = [
        "/admin",
        f"/admin/t/{first.uuid}",
        f"/admin/t/{first.uuid}/active-operations",
        "/admin/operations",
        f"/admin/operations?tenant_id={first.id}",
        f"/admin/operations/{run_id}",
    ]
    small = [queries(client, db, url) for url in pages]
    grow(ws, tenants + [make_tenant(ws) for _ in range(6)], 6)
    large = [queries(client, db, url) for url in pages]
    assert large == small
