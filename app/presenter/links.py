"""URLs between surfaces: list views with filters, details with their way back.

Every link is ``url_for``'s; pages link every row and card, so a tenant's link is built
once per page (``tenant_links``).
"""

from functools import cache
from urllib.parse import urlsplit

from flask import url_for

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


def overview_url(**params):
    """The workspace overview with ``params`` (None and empty values dropped)."""
    return _link("workspace.overview", params)


def stale_cta_url(tenant_id):
    """The tenant dashboard's call to action: the tenant's likely stale runs."""
    return operations_url(
        tenant_id=tenant_id,
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
