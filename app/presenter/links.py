"""URLs between surfaces: list views with filters, details with their way back.

Every link is ``url_for``'s; pages link every row and card, so a tenant's link is built
once per page (``tenant_links``).
"""

from functools import cache, lru_cache
from urllib.parse import urlsplit

from flask import g, has_request_context, request, url_for

from app.operations import freshness as fr

LIST_PATH = "/admin/operations"


def _url_for(endpoint, **values):
    """``url_for`` as a path, also while rendering outside a request (live updates)."""
    return url_for(endpoint, _external=False, **values)


def _link(endpoint, params):
    """``url_for(endpoint)`` with ``params`` as its query, None and empty values dropped."""
    return _url_for(endpoint, **{k: v for k, v in params.items() if v not in (None, "")})


def operations_url(**params):
    """The canonical list with ``params`` (None and empty values dropped)."""
    return _link("monitoring.operations", params)


def tenant_operations_url(tenant_id, **params):
    """``operations_url(tenant_id=tenant_id, **params)``, for the many tenants of a page.

    The path is ``url_for``'s, built once per app context and script root
    (``_list_path``); the rest of the query, the same for every tenant, is encoded by
    ``url_for`` once (``_fixed_query``) and follows the tenant's id: the overview links
    each of its tenant cards three times, and ``url_for`` was most of the cost of a card.
    """
    fixed = _fixed_query(tuple((k, v) for k, v in params.items() if v not in (None, "")))
    query = f"tenant_id={int(tenant_id)}"
    return f"{_list_path()}?{query}{'&' if fixed else ''}{fixed}"


def _list_path():
    root = request.script_root if has_request_context() else None
    paths = g.setdefault("list_paths", {})
    if root not in paths:
        paths[root] = _url_for("monitoring.operations")
    return paths[root]


@lru_cache(maxsize=64)
def _fixed_query(items):
    """The list's query of ``items`` as ``url_for`` encodes it (no leading "?")."""
    return _url_for("monitoring.operations", **dict(items)).partition("?")[2]


def overview_url(**params):
    """The workspace overview with ``params`` (None and empty values dropped)."""
    return _link("workspace.overview", params)


def stale_cta_url(tenant_id):
    """The tenant dashboard's call to action: the tenant's likely stale runs."""
    return tenant_operations_url(
        tenant_id,
        activeTab=fr.ACTIVE_STALE_ATTENTION,
        problemClass=fr.ACTIVE_STALE_ATTENTION,
    )


def run_links(back=None):
    """The canonical detail URL of a run id, for many runs with the same list to return to
    (``back``, kept only when it is a path on the canonical list).

    Each row's path is ``url_for``'s; the query, the same on every row, is encoded once
    (by ``url_for`` too): a list page links 50 rows, and encoding ``back`` is most of the
    cost of a link.
    """
    back = safe_back(back)
    if back is None:
        return lambda run_id: _url_for("monitoring.run_detail", run_id=int(run_id))
    _, _, query = _url_for("monitoring.run_detail", run_id=0, back=back).partition("?")
    return lambda run_id: f"{_url_for('monitoring.run_detail', run_id=int(run_id))}?{query}"


def tenant_url(tenant_uuid):
    """The tenant dashboard."""
    return _url_for("tenant.dashboard", tenant_uuid=str(tenant_uuid))


def tenant_links():
    """``tenant_url`` for the many rows of one page: each tenant's URL is built once."""
    return cache(tenant_url)


def safe_back(value):
    """``value`` if it is a path on the canonical list (never another site), else None."""
    if not value or not isinstance(value, str) or "\\" in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "//[": an unparsable host
        return None
    if parts.scheme or parts.netloc or parts.path != LIST_PATH or value.startswith("//"):
        return None
    return value
