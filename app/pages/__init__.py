"""One page model per live page, used by its route and by the live path alike.

A page is built by one function from the viewer's Scope, the clock's ``now`` and the
page's own arguments (``PageArgs``: the route's view arguments, the query string and the
path). The route renders the returned ``Page`` as a whole document; the live path renders
the same ``Page`` as its ``#page-content`` fragment and pushes it as a morphing Turbo
Stream. Builders never read the request, the session or the signed-in user: what they may
show is decided by the Scope alone.
"""

from dataclasses import dataclass, field

from flask import render_template
from markupsafe import Markup, escape

from app.operations import get_policy
from app.operations.clock import isoformat
from app.operations.queries import likely_stale_total

CONTENT_ID = "page-content"


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


def stale_count(scope, now):
    """The viewer's likely stale runs in the workspace, for the title and favicon of every
    page (``data-stale-count`` on ``#page-content``; js/live.js shows it)."""
    count = likely_stale_total(scope, policy=get_policy(), now=now)
    return f"{count.value}+" if count.capped else str(count.value)


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
