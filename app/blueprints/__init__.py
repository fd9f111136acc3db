"""Blueprint registration.

Each package's ``__init__`` holds its ``bp`` only; importing the view modules here attaches
their routes to it before it is registered (so no package imports its own views).
"""


def register_blueprints(app):
    """Attach every blueprint to ``app``."""
    from app.blueprints.api import batch, openapi  # noqa: F401  (more API views)
    from app.blueprints.api import routes as api
    from app.blueprints.auth import routes as auth
    from app.blueprints.monitoring import (  # noqa: F401  (more monitoring views)
        health_routes,
        insights_routes,
        reconciler_routes,
    )
    from app.blueprints.monitoring import routes as monitoring
    from app.blueprints.notifications import routes as notifications
    from app.blueprints.tenant import routes as tenant
    from app.blueprints.workspace import chrome  # noqa: F401  (the page chrome)
    from app.blueprints.workspace import routes as workspace

    for views in (auth, workspace, tenant, monitoring, notifications, api):
        app.register_blueprint(views.bp)
