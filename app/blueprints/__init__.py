"""Blueprint registration."""


def register_blueprints(app):
    """Attach every blueprint to ``app``."""
    from app.blueprints.api import bp as api_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.monitoring import bp as monitoring_bp
    from app.blueprints.notifications import bp as notifications_bp
    from app.blueprints.tenant import bp as tenant_bp
    from app.blueprints.workspace import bp as workspace_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(workspace_bp)
    app.register_blueprint(tenant_bp)
    app.register_blueprint(monitoring_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(api_bp)
