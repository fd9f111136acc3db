"""The page chrome: navigation and the current workspace."""

from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from app.blueprints.context import loaded_memberships, loaded_workspace
from app.blueprints.workspace import bp

RECONCILER_PATH = "/admin/reconciler"


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class Chrome:
    """What the layout shows around every signed-in page."""

    user_name: str
    workspace_name: str | None
    can_switch: bool
    workspaces_url: str
    nav: tuple


def _path_endpoint(path):
    try:
        return current_app.url_map.bind("").match(path, method="GET")[0]
    except HTTPException:
        return None


def _nav():
    endpoint = request.endpoint or ""
    items = [
        NavItem(
            "Overview",
            url_for("workspace.overview"),
            endpoint.startswith(("workspace.", "tenant.")),
        ),
        NavItem(
            "Operations",
            url_for("monitoring.operations"),
            endpoint in ("monitoring.operations", "monitoring.run_detail"),
        ),
    ]
    reconciler = _path_endpoint(RECONCILER_PATH)
    if reconciler:
        items.append(NavItem("Reconciler", RECONCILER_PATH, endpoint == reconciler))
    if _role() in ("owner", "operator"):
        url = url_for("monitoring.insights")
        items.append(NavItem("Insights", url, endpoint == "monitoring.insights"))
    if _role() == "owner":
        url = url_for("notifications.channels")
        items.append(NavItem("Notifications", url, request.blueprint == "notifications"))
    return tuple(items)


def _role():
    """The user's role in the current workspace (from what this request loaded), or None."""
    workspace = loaded_workspace()
    if workspace is None:
        return None
    return next((role for ws, role in loaded_memberships() if ws.id == workspace.id), None)


@bp.app_context_processor
def chrome():
    """The chrome for the layout; reads only what this request already loaded.

    None outside a request: a live update renders a page's content, never its chrome.
    """
    if not has_request_context() or not current_user.is_authenticated:
        return {"chrome": None}
    if request.blueprint == "api":
        return {"chrome": None}
    workspace = loaded_workspace()
    return {
        "chrome": Chrome(
            user_name=current_user.name,
            workspace_name=workspace.name if workspace else None,
            can_switch=len(loaded_memberships()) > 1,
            workspaces_url=url_for("workspace.workspaces"),
            nav=_nav(),
        )
    }
