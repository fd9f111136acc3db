"""One page model per live page, used by its route and by the live path alike.

A page is built by one function from the viewer's Scope, the clock's ``now`` and the
page's own arguments (``PageArgs``: the route's view arguments, the query string and the
path). The route renders the returned ``Page`` as a whole document; the live path renders
the same ``Page`` as its ``#page-content`` fragment and pushes it as a morphing Turbo
Stream. Builders never read the request, the session or the signed-in user: what they may
show is decided by the Scope alone.
"""

import threading
from dataclasses import dataclass, field

from flask import g, has_app_context, render_template
from markupsafe import Markup, escape

from app.operations import get_policy
from app.operations.clock import isoformat
from app.operations.reads import RunReads

CONTENT_ID = "page-content"
MEMO = "runwarden_sweep_memo"


@dataclass(frozen=True)
class PageArgs:
    """What a page is asked for: view arguments, query arguments (last value wins), path."""

    view_args: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)
    path: str = "/"

    @classmethod
    def of(cls, view_args, query, path):
        """From a route's view arguments and a MultiDict or list of (key, value) pairs."""
        items = query.items(multi=True) if hasattr(query, "items") else query
        args = {}
        for key, value in items:
            args[key] = value
        return cls(dict(view_args or {}), args, path)


@dataclass(frozen=True)
class Page:
    """A built page: its template and the values the template shows."""

    template: str
    context: dict
    as_of: object


class SweepMemo:
    """Facts read once and shared by the pages one live sweep renders at one ``now``.

    The live path opens one (``use_memo``) around the renders of a sweep; routes never do,
    so a page load always reads everything itself. Keys hold the viewer's whole visibility
    (workspace, role, visible tenants), so pages of different viewers share nothing that
    depends on what they may see. Each fact is computed once even when render threads ask
    for it together; values are read-only to their users.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._slots = {}
        self.hits = 0
        self.misses = 0

    def get(self, key, compute):
        """The value for ``key``, computing it (once) with ``compute()``."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                self.misses += 1
            else:
                self.hits += 1
        return slot.value(compute)


class _Slot:
    def __init__(self):
        self._lock = threading.Lock()
        self._done = False
        self._value = None

    def value(self, compute):
        with self._lock:
            if not self._done:
                self._value = compute()  # an exception leaves it for the next caller
                self._done = True
            return self._value


def use_memo(memo):
    """Share ``memo`` with the page builders of the current app context (None: stop)."""
    setattr(g, MEMO, memo)


def sweep_memo():
    """The SweepMemo the live path opened for the current app context, or None."""
    return g.get(MEMO) if has_app_context() else None


def visibility_of(scope):
    """What decides which runs ``scope`` sees: scopes with equal ones see the same runs."""
    return (scope.workspace_id, scope.role, scope.tenant_ids)


def shared(scope, now, name, compute, *key):
    """``compute()``, or the value another page of the same visibility got for the same
    ``name``, ``now`` and ``key`` in this sweep (when the live path opened a memo)."""
    memo = sweep_memo()
    if memo is None:
        return compute()
    return memo.get((name, visibility_of(scope), now, *key), compute)


def shared_by_tenant(scope, now, name, compute, tenant_id, *key):
    """``compute()`` for a read narrowed to the runs of ``tenant_id`` alone, shared within
    a sweep by the pages of every visibility that may see that tenant.

    Such a read binds the visibility rule and the tenant: for a scope that sees the tenant,
    "its workspace, and a visible tenant or none" and "that tenant" select that tenant's
    runs and nothing else, whatever else the scope sees (the role is no part of any read).
    A scope that may not see the tenant shares its read with nobody but its own visibility.
    """
    if tenant_id is None or not scope.can_see_tenant(tenant_id):
        return shared(scope, now, name, compute, tenant_id, *key)
    memo = sweep_memo()
    if memo is None:
        return compute()
    return memo.get((name, ("tenant", scope.workspace_id, tenant_id), now, *key), compute)


def reads_for(scope, now):
    """The read interface of ``scope`` at ``now`` under the current policy."""
    return RunReads(scope, get_policy(), now)


def render_page(page, *, fragment=False):
    """The page as a document, or (``fragment``) only its ``#page-content`` element."""
    return render_template(
        page.template, fragment=fragment, page_as_of=isoformat(page.as_of), **page.context
    )


def content_stream(html):
    """A Turbo Stream that morphs ``#page-content`` into ``html`` (the rendered fragment)."""
    return Markup(
        f'<turbo-stream action="replace" method="morph" target="{escape(CONTENT_ID)}">'
        f"<template>{html}</template></turbo-stream>"
    )
