"""The likely stale count in every live page's title, current without a re-render.

Every page carries its viewer's likely stale count in the workspace (``data-stale-count``:
the title and favicon, js/live.js). A page over the whole scope (the overview, a list of
every tenant) is rendered for every change and transition of the scope's runs, so its
count is current. A page about one tenant, one run or the reconciler is not: another
tenant's run going quiet changes its title, not its content. ``Counts`` reads the count of
each visibility that has such pages after a sweep of changes and at the next transition of
any run the visibility sees, and queues ``count <N>`` for those pages when it moved.
"""

import threading

from app.live.pacing import is_wide
from app.live.timer import Due
from app.operations import get_policy
from app.operations.reads import RunReads
from app.pages import visibility_of
from app.pages.facts import stale_count

PREFIX = "count "
KIND = "count"  # Schedule keys (KIND, visibility) plan a visibility's next recount


def needs_count(client):
    """Whether ``client``'s page may show a count its renders do not keep current."""
    return client.scope is not None and not is_wide(client.watch)


def key_of(scope):
    return (KIND, visibility_of(scope))


def _narrow_groups(clients):
    """{visibility: its open narrow pages}."""
    groups = {}
    for client in clients:
        if needs_count(client) and not client.closing:
            groups.setdefault(visibility_of(client.scope), []).append(client)
    return groups


class Counts:
    """The count each visibility's narrow pages were last told, and when to count again
    (thread-safe)."""

    def __init__(self, schedule):
        self.schedule = schedule
        self._lock = threading.Lock()
        self._told = {}  # visibility -> (count text, app-clock instant it last moved or None)

    def recount(self, clients, work, now, transitions):
        """After a sweep (``work``: its changes, catch-ups and due keys): count again for
        the visibilities a change may concern, that were due, or that a new socket opened
        without a recount planned; plan each one's next recount."""
        due = {key[1] for key, _ in work.due if key[0] == KIND}
        joined = {client.id for client, _ in work.catch_ups}
        groups = _narrow_groups(clients)
        self.forget({visibility_of(c.scope) for c in clients if c.scope is not None})

        def counted(visibility, members):
            scope = members[0].scope
            return (
                visibility in due
                or (any(c.id in joined for c in members) and not self.schedule.has(key_of(scope)))
                or any(
                    change.workspace_id == scope.workspace_id
                    and scope.can_see_tenant(change.tenant_id)
                    for change in work.changes
                )
            )

        chosen = {v: members for v, members in groups.items() if counted(v, members)}
        for key, (scope, at) in self.update(chosen, now, transitions).items():
            self.schedule.set(key, None if at is None else Due(at, (), None, scope))

    def update(self, groups, now, transitions):
        """Read the count of each visibility of ``groups`` ({visibility: its narrow pages})
        at ``now``; queue it for the pages of those whose count moved. ``transitions(reads)``
        gives the rows (instant, run id, tenant id) of the runs a scope sees. Returns
        {schedule key: (scope, instant of the next transition after now, or None)}."""
        planned = {}
        for visibility, members in groups.items():
            scope = members[0].scope
            reads = RunReads(scope, get_policy(), now)
            value = stale_count(reads)
            with self._lock:
                told, moved_at = self._told.get(visibility, (value, None))
                moved = told != value
                self._told[visibility] = (value, now if moved else moved_at)
            if moved:
                for client in members:
                    client.offer_count(PREFIX + value)
            upcoming = [at for at, _, _ in transitions(reads) if at > now]
            planned[key_of(scope)] = (scope, min(upcoming, default=None))
        return planned

    def joined(self, client, since):
        """A new socket whose page shows data as of ``since``: tell it its visibility's
        count if that moved after then (or when its page's time is unknown)."""
        if not needs_count(client):
            return
        with self._lock:
            value, moved_at = self._told.get(visibility_of(client.scope), (None, None))
        if moved_at is not None and (since is None or moved_at > since):
            client.offer_count(PREFIX + value)

    def forget(self, visibilities):
        """Drop what is known of visibilities no longer open (``visibilities``: still open)."""
        with self._lock:
            for gone in [v for v in self._told if v not in visibilities]:
                del self._told[gone]
