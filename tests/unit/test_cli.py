"""Admin CLI: one JSON object per command, JSON errors with exit 1, and the demo seed."""

import uuid
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Membership, OperationRun, RunEvent, TenantGrant, User, Workspace
from app.operations import freshness as fr
from app.operations.accounts import authenticate
from app.operations.visibility import scope_for_user
from tests.conftest import T0
from tests.unit.conftest import error, ok


def test_users_create_hashes_the_password(cli, db, app):
    out = ok(
        cli("users", "create", "Ada@Example.com", "--password", "s3cret-pass", "--name", "Ada")
    )
    assert out == {"id": out["id"], "email": "ada@example.com", "name": "Ada"}
    user = db.session.get(User, out["id"])
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert authenticate("ada@example.com", "s3cret-pass") == user
    assert authenticate("ada@example.com", "wrong-pass") is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["users", "create", "ada@example.com"], "Missing option '--password'"),
        (["users", "create", "not-an-email", "--password", "s3cret-pass"], "not an email"),
        (["users", "create", "ada@example.com", "--password", "short"], "at least 8"),
        (["users", "frobnicate"], "No such command"),
        (["workspaces", "create", "Bad Slug"], "lowercase"),
        (["tenants", "create", "nowhere", "contoso"], "no workspace 'nowhere'"),
        (["members", "add", "ada@example.com", "acme", "--role", "admin"], "'admin' is not one"),
        (["members", "add", "ada@example.com", "acme"], "Missing option '--role'"),
    ],
)
def test_bad_arguments_answer_a_json_error_and_exit_1(cli, db, args, message):
    assert message in error(cli(*args))


def test_duplicates_are_refused_and_write_nothing(cli, db):
    ok(cli("users", "create", "ada@example.com", "--password", "s3cret-pass"))
    assert "already exists" in error(
        cli("users", "create", "ADA@example.com", "--password", "x" * 9)
    )
    ok(cli("workspaces", "create", "acme"))
    assert "already exists" in error(cli("workspaces", "create", "acme"))
    ok(cli("tenants", "create", "acme", "contoso"))
    assert "already exists" in error(cli("tenants", "create", "acme", "contoso"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_tenants_create_prints_id_and_uuid(cli, db):
    workspace = ok(cli("workspaces", "create", "acme", "--name", "Acme Operations"))
    assert workspace["name"] == "Acme Operations"
    tenant = ok(cli("tenants", "create", "acme", "contoso", "--name", "Contoso"))
    assert isinstance(tenant["id"], int)
    assert str(uuid.UUID(tenant["uuid"])) == tenant["uuid"]
    assert (tenant["slug"], tenant["name"], tenant["workspace"]) == ("contoso", "Contoso", "acme")


def test_members_add_grants_tenants_to_operators_and_viewers(cli, db):
    ok(cli("users", "create", "op@example.com", "--password", "s3cret-pass"))
    ok(cli("workspaces", "create", "acme"))
    for slug in ("contoso", "fabrikam", "northwind"):
        ok(cli("tenants", "create", "acme", slug))

    out = ok(
        cli("members", "add", "op@example.com", "acme", "--role", "viewer", "--tenant", "contoso")
    )
    assert out == {
        "email": "op@example.com",
        "workspace": "acme",
        "role": "viewer",
        "tenants": ["contoso"],
        "created": True,
    }
    again = ok(
        cli(
            "members", "add", "op@example.com", "acme", "--role", "operator", "--tenant", "fabrikam"
        )
    )
    assert (again["role"], again["tenants"], again["created"]) == (
        "operator",
        ["contoso", "fabrikam"],
        False,
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TenantGrant)) == 2


def test_members_add_refuses_what_cannot_be_meant(cli, db):
    ok(cli("users", "create", "ada@example.com", "--password", "s3cret-pass"))
    ok(cli("workspaces", "create", "acme"))
    ok(cli("tenants", "create", "acme", "contoso"))
    assert "owners see every tenant" in error(
        cli("members", "add", "ada@example.com", "acme", "--role", "owner", "--tenant", "contoso")
    )
    assert "no tenant 'nope'" in error(
        cli("members", "add", "ada@example.com", "acme", "--role", "viewer", "--tenant", "nope")
    )
    assert "no user" in error(cli("members", "add", "bob@example.com", "acme", "--role", "viewer"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0


# --------------------------------------------------------------------------- demo seed


def acme_runs(db):
    acme = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "acme"))
    runs = db.session.scalars(sa.select(OperationRun).where(OperationRun.workspace_id == acme.id))
    return acme, list(runs)


def check_every_freshness_state_and_stale_reason(seeded, db, policy):
    acme, runs = acme_runs(db)
    states = Counter(fr.freshness(run, policy, T0).state for run in runs)
    reasons = Counter(fr.freshness(run, policy, T0).stale_reason for run in runs)
    assert set(states) == set(fr.FRESHNESS_STATES)
    assert set(reasons) - {None} == set(fr.STALE_REASONS)
    assert 130 <= len(runs) <= 170
    assert min(run.created_at for run in runs) >= T0 - timedelta(days=8)

    sql = Counter(
        db.session.scalars(
            sa.select(fr.freshness_case(policy)).where(OperationRun.workspace_id == acme.id),
            fr.instant(policy, T0),
        )
    )
    assert sql == states
    assert seeded["freshness"]["likely_stale"] >= states[fr.LIKELY_STALE]


def check_stale_runs_not_yet_due(db, policy):
    _, runs = acme_runs(db)
    stale = [run for run in runs if fr.freshness(run, policy, T0).state == fr.LIKELY_STALE]
    assert stale
    for run in stale:
        reconcile_at = fr.freshness(run, policy, T0).reconcile_at
        assert T0 + timedelta(minutes=10) < reconcile_at, "the demo shows them stale for a while"


def check_follow_ups_reconciled_runs_and_late_report(db, policy):
    _, runs = acme_runs(db)
    follow = [run for run in runs if fr.problem_class(run, policy, T0) == fr.TERMINAL_FOLLOW_UP]
    recent = {run.outcome for run in follow if run.completed_at >= T0 - timedelta(hours=24)}
    older = {run.outcome for run in follow if run.completed_at < T0 - timedelta(hours=24)}
    assert {"failed", "partially_succeeded"} <= recent
    assert {"failed", "partially_succeeded"} <= older
    assert any(run.tenant_id is None and run.is_active for run in runs)
    assert any(run.tenant_id is None and not run.is_active for run in runs)

    reconciled = [run for run in runs if run.reconciled_at is not None]
    assert {run.reconciliation_reason for run in reconciled} == {
        f"stale_{reason}" for reason in fr.STALE_REASONS
    }
    for run in reconciled:
        assert (run.status, run.outcome) == ("completed", "failed")
        assert run.reconciliation_message
    events = db.session.scalars(
        sa.select(RunEvent).where(RunEvent.run_id.in_([run.id for run in reconciled]))
    ).all()
    kinds = Counter(event.kind for event in events)
    assert kinds["reconciled"] == len(reconciled)
    assert kinds["late_report"] == 1


def check_every_run_has_a_timeline(db):
    _, runs = acme_runs(db)
    ids = [run.id for run in runs]

    def runs_with(*kinds):
        query = sa.select(RunEvent.run_id).where(RunEvent.kind.in_(kinds), RunEvent.run_id.in_(ids))
        return Counter(db.session.scalars(query))

    assert runs_with("created") == Counter(ids)
    assert runs_with("completed", "reconciled") == Counter(r.id for r in runs if not r.is_active)
    running = {run.id for run in runs if run.started_at is not None}
    assert set(runs_with("started")) == running


def check_accounts_sign_in_and_see_their_share(seeded, db):
    acme, _ = acme_runs(db)
    users = {u["email"]: u for u in seeded["sign_in"]["users"]}
    assert seeded["sign_in"]["password"] == "runwarden-demo"
    assert set(users) >= {"owner@example.com", "operator@example.com", "viewer@example.com"}
    visible = {}
    for email in users:
        user = authenticate(email, "runwarden-demo")
        assert user is not None, email
        scope = scope_for_user(user, acme.id)
        visible[email] = None if scope is None else len(scope.tenant_rows())
    assert visible["owner@example.com"] == 5
    assert visible["operator@example.com"] == 2
    assert visible["viewer@example.com"] == 1
    globex_owner = [e for e, u in users.items() if u["workspace"] == "globex"]
    assert globex_owner and visible[globex_owner[0]] is None


def test_demo_seed(cli, db, policy):
    """One seed per backend, checked from every side, then seeded again as a no-op."""
    seeded = ok(cli("demo", "seed"))
    check_every_freshness_state_and_stale_reason(seeded, db, policy)
    check_stale_runs_not_yet_due(db, policy)
    check_follow_ups_reconciled_runs_and_late_report(db, policy)
    check_every_run_has_a_timeline(db)
    check_accounts_sign_in_and_see_their_share(seeded, db)

    count = db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun))
    again = ok(cli("demo", "seed"))
    assert again["seeded"] is False
    assert "already" in again["message"]
    assert again["sign_in"]["password"] == "runwarden-demo"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OperationRun)) == count


def test_demo_seed_if_empty_leaves_a_used_database_alone(cli, db):
    ok(cli("workspaces", "create", "mine"))
    out = ok(cli("demo", "seed", "--if-empty"))
    assert out["seeded"] is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == 1
