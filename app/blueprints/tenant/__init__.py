from flask import Blueprint

bp = Blueprint("tenant", __name__)
