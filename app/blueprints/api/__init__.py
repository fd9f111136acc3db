from flask import Blueprint

from app.blueprints.api.errors import register_error_handlers
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)
