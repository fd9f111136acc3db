"""A request's JSON body: parsed strictly (no NaN or Infinity, no float out of range), a
JSON object, and no value that cannot be stored (a NUL in a string, nesting too deep)."""

import json
import math

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.api.errors import ApiError, invalid

MAX_NESTING = 32
JSON_TYPES = ("application/json",)


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):  # 1e400: would be stored and sent back as Infinity
        raise ValueError(f"{text} is out of range")
    return value


def _value_problem(value):
    """Why a JSON value cannot be stored (NUL in a string, nesting too deep), or None."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return "must not contain NUL characters"
        if isinstance(item, dict | list):
            if depth > MAX_NESTING:
                return f"must not nest more than {MAX_NESTING} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _nesting_problem(value):
    """``_value_problem`` for a value that holds no NUL: nesting too deep, or None."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"must not nest more than {MAX_NESTING} levels"
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return None


def json_body():
    """The request body as a dict: empty body is {}; 400 unless it is a JSON object."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit rather than refused: refuse it here.
        raise RequestEntityTooLarge()
    if not raw.strip():
        return {}
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
        raise ApiError(400, "unsupported_content_type", "send the body as application/json")
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "body_not_object", "the body must be a JSON object")
    # UTF-8 JSON holds a NUL only as the escape \u0000 (json.loads refuses a raw one): with
    # neither that nor a zero byte (UTF-16 and UTF-32 texts have them), no string holds
    # one, so only the nesting is checked, which visits the containers alone.
    nul_possible = b"\\u0000" in raw or b"\x00" in raw
    problem_of = _value_problem if nul_possible else _nesting_problem
    problems = {name: problem for name, value in data.items() if (problem := problem_of(value))}
    if problems:
        raise invalid(problems)
    return data
