"""The one read interface for runs: ``RunReads(scope, policy, now)``.

Every page model, widget, the API and the live layer read runs through it. It carries the
viewer's Scope (the one visibility rule), the policy and the instant, so no statement can be
run without them; statements, their caches and their parameter names are private to this
package. Runs come back in one shape, ``RunRead`` (a run's columns plus its tenant's name).
"""

from datetime import timedelta

from app.extensions import db
from app.operations import freshness as fr
from app.operations import search as sr
from app.operations.dialect import is_postgres
from app.operations.queries import (
    COUNT_CAP,
    MAX_PAGE,
    TAB_ALL,
    TABS,
    Count,
    InvalidQuery,
    Page,
    RunFilters,
    decode_cursor,
    encode_cursor,
)
from app.operations.reads import insights, lists, single, widgets
from app.operations.reads.binds import bound, shape_of
from app.operations.reads.everywhere import SystemReads
from app.operations.reads.model import RunRead, reads_of
from app.operations.reads.widgets import DAY, Activity, TypeSummary

NO_FILTERS = RunFilters()

__all__ = [
    "Activity",
    "Count",
    "Page",
    "RunRead",
    "RunReads",
    "SystemReads",
    "TypeSummary",
]


class RunReads:
    """Reads of the runs ``scope`` may see, at ``now``, under ``policy``."""

    def __init__(self, scope, policy, now):
        self.scope, self.policy, self.now = scope, policy, now
        self._shape = shape_of(scope)
        self._values = None

    def _execute(self, statement, **values):
        if self._values is None:
            self._values = bound(self.scope, self.policy, self.now)
        return db.session.execute(statement, {**self._values, **values})

    # ------------------------------------------------------------------ the list

    def page(
        self,
        *,
        tab=TAB_ALL,
        filters=NO_FILTERS,
        cursor=None,
        before=None,
        limit=50,
        sort=sr.SORT_CREATED,
    ):
        """A keyset page of RunReads, newest first or (``sort="duration"``) longest first;
        the page after ``cursor``, or the one before ``before``. InvalidQuery for a bad
        tab, filter, sort or cursor (before anything runs)."""
        limit = max(1, min(int(limit), MAX_PAGE))
        filters = filters.validate()
        lists.tab_clause(tab, self.policy)
        if sort not in sr.SORTS:
            raise InvalidQuery("sort", f"unknown sort {sort!r}")
        values = {**lists.filter_values(filters), "sort_now": self.now}
        at = before or cursor
        if at:
            values["cursor_key"], values["cursor_id"] = _decode(sort, at)
        newer = bool(before)
        shape = lists.filter_shape(filters)
        query = lists.page_query(
            self.policy, self._shape, tab, shape, sort, bool(at), newer, limit + 1
        )
        rows = self._execute(query, **values).all()
        more = len(rows) > limit
        rows = rows[:limit]
        if newer:
            rows.reverse()
        if not rows:
            return Page([], None, None)
        first, last = _encode(sort, rows[0]), _encode(sort, rows[-1])
        runs = reads_of(rows)
        if newer:
            return Page(runs, last, first if more else None)
        return Page(runs, last if more else None, first if cursor else None)

    def count_newer(self, *, tab=TAB_ALL, filters=NO_FILTERS, since_id, cap=99):
        """How many runs of ``tab`` under ``filters`` arrived after run ``since_id`` (a
        higher id), capped: what a reader of a deeper page has not seen yet."""
        filters = filters.validate()
        lists.tab_clause(tab, self.policy)
        query = lists.newer_query(self.policy, self._shape, tab, lists.filter_shape(filters), cap)
        value = self._execute(query, **lists.filter_values(filters), since_id=since_id).scalar()
        return Count(min(value, cap), value > cap)

    def tab_counts(self, *, filters=NO_FILTERS, cap=COUNT_CAP):
        """{tab: Count} for every tab under the list's filters, in one statement."""
        filters = filters.validate()
        query = lists.counts_query(self.policy, self._shape, lists.filter_shape(filters), cap)
        row = self._execute(query, **lists.filter_values(filters)).one()
        return {t: Count(min(v, cap), v > cap) for t, v in zip(TABS, row, strict=True)}

    def likely_stale_total(self, cap=999):
        """How many runs are likely stale (capped): the count every page's title shows."""
        value = self._execute(lists.stale_total_query(self.policy, self._shape, cap)).scalar()
        return Count(min(value, cap), value > cap)

    # ------------------------------------------------------------------ widgets

    def activity_by_tenant(self, tenant_id=None):
        """{tenant_id or None: Activity}; tenants without active or follow-up runs are
        absent; ``tenant_id`` narrows to one tenant."""
        active, follow_up = widgets.activity_queries(
            self.policy, self._shape, tenant_id is not None
        )
        values = {"tenant_id": tenant_id, "day_ago": self.now - timedelta(seconds=DAY)}
        found = {}
        for tenant, count, past, stale in self._execute(active, **values):
            found[tenant] = Activity(active=count, past_expected=int(past), likely_stale=int(stale))
        for tenant, count, recent, first, first_recent in self._execute(follow_up, **values):
            found[tenant] = found.get(tenant, Activity()) + Activity(
                follow_up=count,
                follow_up_24h=int(recent),
                follow_up_first_at=first,
                follow_up_24h_first_at=first_recent,
            )
        return found

    def tenant_activity(self, tenant_id):
        """The Activity of one tenant."""
        return self.activity_by_tenant(tenant_id).get(tenant_id, Activity())

    def attention(self, tenant_id, limit=5):
        """(likely stale runs, follow-up runs) of a tenant, newest first, ``limit`` each."""
        stale, follow = widgets.attention_queries(self.policy, self._shape, limit)
        return (
            reads_of(self._execute(stale, tenant_id=tenant_id)),
            reads_of(self._execute(follow, tenant_id=tenant_id)),
        )

    def overlay(self, tenant_id, limit=8):
        """Active runs of a tenant, stale ones first, then late, then newest."""
        query = widgets.overlay_query(self.policy, self._shape, limit)
        return reads_of(self._execute(query, tenant_id=tenant_id))

    def type_summary(self, tenant_id, days=7):
        """Per-type counts of a tenant's runs created in the last ``days``."""
        query = widgets.type_summary_query(self.policy, self._shape)
        since = self.now - timedelta(days=days)
        rows = self._execute(query, tenant_id=tenant_id, since=since)
        return [TypeSummary(row[0], *(int(v) for v in row[1:])) for row in rows]

    def first_created_since(self, since, tenant_id=None):
        """When the earliest visible run (of ``tenant_id``) created at or after ``since`` was
        created, or None: a window of the last N seconds loses it N seconds after that."""
        query = widgets.first_created_query(self._shape, tenant_id is not None)
        return self._execute(query, since=since, tenant_id=tenant_id).scalar()

    def last_reported(self, tenant_ids):
        """{tenant_id: when its newest run was reported} for ``tenant_ids``; tenants that
        never reported a run are absent."""
        ids = list(tenant_ids)
        if not ids:
            return {}
        rows = self._execute(widgets.last_reported_query(self._shape), tenant_ids=ids)
        return {tenant_id: at for tenant_id, at in rows if at is not None}

    # ------------------------------------------------------------------ reports

    def execute(self, statement, **values):
        """Run a report's ``statement`` with the scope's and the instant's values and
        ``values`` (the report's own)."""
        return self._execute(statement, **values)

    def insight_rows(self, since, until, *, tenant_id=None, type_name=None):
        """The visible runs completed from ``since`` to ``until`` (both included), of one
        tenant and one type when given, aggregated for the insights: (per-day counts rows,
        per-day bucket rows); see ``reads.insights``."""
        narrow = insights.Narrow(self._shape, tenant_id is not None, type_name, True)
        values = {"range_from": since, "range_until": until, "narrow_tenant_id": tenant_id}
        return insights.rows(self._execute, self.policy, narrow, values)

    # ------------------------------------------------------------------ chosen runs

    def run(self, run_id):
        """The RunRead of run ``run_id``, or None when it is not visible."""
        row = self._execute(single.run_query(self._shape), run_id=run_id).first()
        return None if row is None else RunRead._make(row)

    def transitions(self, limit=5000, *, tenant_id=None, run_id=None):
        """([(instant, run id, tenant id)] of the next time-only change of each active run
        (of one tenant, or one run), whether that took every active run): what a live page
        plans by; up to ``limit`` runs are read. The change is the run's next freshness
        transition (a likely stale run has none: its guidance switches to "due to be
        closed" in the browser, and the reconciler's close is a change of its own)."""
        narrow, narrow_id = None, None
        if tenant_id is not None:
            narrow, narrow_id = single.NARROW_TENANT, tenant_id
        elif run_id is not None:
            narrow, narrow_id = single.NARROW_RUN, run_id
        query = single.active_query(self._shape, narrow, limit)
        runs = reads_of(self._execute(query, narrow_id=narrow_id))
        found = []
        for run in runs:
            at = fr.freshness(run, self.policy, self.now).next_transition_at
            if at is not None:
                found.append((at, run.id, run.tenant_id))
        return found, len(runs) < limit

    def upcoming_transitions(self, *, tenant_id=None, run_id=None, limit=5000):
        """{instant: [run ids]} of ``transitions``."""
        upcoming = {}
        for at, run_id_, _ in self.transitions(limit, tenant_id=tenant_id, run_id=run_id)[0]:
            upcoming.setdefault(at, []).append(run_id_)
        return upcoming

    def reconciled_by_pass(self, pass_starts):
        """{pass start: how many visible runs it closed}."""
        if not pass_starts:
            return {}
        query = single.reconciled_by_pass_query(self._shape)
        return dict(self._execute(query, pass_starts=sorted(set(pass_starts))).all())

    def visible_ids(self, run_ids):
        """The ids among ``run_ids`` of runs this scope may see."""
        if not run_ids:
            return set()
        query = single.visible_ids_query(self._shape)
        return set(self._execute(query, run_ids=sorted(run_ids)).scalars())

    def to_check(self, run_ids):
        """{id: (id, status, started_at, processed, total)} of the visible runs among
        ``run_ids``: what a batch of reports is checked against before it is written
        (plain rows of five columns: reading 500 whole runs cost more than writing them)."""
        if not run_ids:
            return {}
        query = single.checked_query(self._shape, is_postgres())
        rows = self._execute(query, run_ids=sorted(run_ids))
        return {row.id: row for row in rows}


def _decode(sort, cursor):
    if sort == sr.SORT_CREATED:
        return decode_cursor(cursor)
    try:
        return sr.decode_duration_cursor(cursor)
    except ValueError as exc:
        raise InvalidQuery("cursor", "cursor is not valid") from exc


def _encode(sort, row):
    if sort == sr.SORT_CREATED:
        return encode_cursor(row)
    return sr.encode_duration_cursor(row.sort_key, row.id)
