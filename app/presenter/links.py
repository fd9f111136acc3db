"""URLs between surfaces: list views with filters, details with their way back.

Pages link every row and card (hundreds of URLs per page), so the URLs of the few routes
used here are filled into a path ``url_for`` built once per request, with the encoding
Werkzeug's router uses; a test holds them equal to ``url_for`` for awkward values.
"""

from functools import cache, lru_cache
from urllib.parse import quote, urlencode, urlsplit

from flask import g, request, url_for

from app.operations import freshness as fr

LIST_PATH = "/admin/operations"
# What Werkzeug's router leaves unescaped in a path segment and in a query string.
PATH_SAFE = "!$&'()*+,/:;=@"
QUERY_SAFE = "!$'()*,/:;?@"
SENTINEL = 987654321


def _routes():
    """This request's table of route paths (and link builders)."""
    try:  # kept with the request: its script root cannot change under it
        return request.environ.setdefault("runwarden.link_routes", {})
    except RuntimeError:  # rendering outside a request (live updates)
        return g.setdefault("_link_routes", {})


def _route(endpoint, arg=None):
    """(prefix, suffix) of ``endpoint``'s path around ``arg`` in this request."""
    routes = _routes()
    key = (endpoint, arg)
    if key not in routes:
        if arg is None:
            routes[key] = (url_for(endpoint, _external=False), "")
        else:
            prefix, _, suffix = url_for(endpoint, _external=False, **{arg: SENTINEL}).partition(
                str(SENTINEL)
            )
            routes[key] = (prefix, suffix)
    return routes[key]


def _url(endpoint, query=()):
    path, _ = _route(endpoint)
    items = tuple((k, v) for k, v in query if v is not None)
    return f"{path}?{_query_string(items)}" if items else path


@lru_cache(maxsize=512)
def _query_string(items):
    """The encoded query of ``items``: every row of a list page links with the same one."""
    return urlencode(items, safe=QUERY_SAFE)


def operations_url(**params):
    """The canonical list with ``params`` (None and empty values dropped)."""
    return _url(
        "monitoring.operations", query=[(k, v) for k, v in params.items() if v not in (None, "")]
    )


def overview_url(**params):
    """The workspace overview with ``params`` (None and empty values dropped)."""
    return _url(
        "workspace.overview", query=[(k, v) for k, v in params.items() if v not in (None, "")]
    )


def stale_cta_url(tenant_id):
    """The tenant dashboard's call to action: the tenant's likely stale runs."""
    return operations_url(
        tenant_id=tenant_id,
        activeTab=fr.ACTIVE_STALE_ATTENTION,
        problemClass=fr.ACTIVE_STALE_ATTENTION,
    )


def run_url(run_id, back=None):
    """The canonical detail of a run; ``back`` is the list view to return to."""
    return run_links(back)(run_id)


def run_links(back=None):
    """``run_url`` for many runs with the same ``back``: the route is looked up once."""
    prefix, suffix = _route("monitoring.run_detail", "run_id")
    back = safe_back(back)
    query = f"?{_query_string((('back', back),))}" if back else ""
    return lambda run_id: f"{prefix}{int(run_id)}{suffix}{query}"


def tenant_url(tenant_uuid):
    """The tenant dashboard."""
    return tenant_links()(tenant_uuid)


def tenant_links():
    """``tenant_url`` for many tenants: one per request, each tenant's URL built once."""
    routes = _routes()
    url = routes.get("tenant_links")
    if url is None:
        prefix, suffix = _route("tenant.dashboard", "tenant_uuid")

        @cache
        def url(tenant_uuid):
            return f"{prefix}{quote(str(tenant_uuid), safe=PATH_SAFE)}{suffix}"

        routes["tenant_links"] = url
    return url


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
