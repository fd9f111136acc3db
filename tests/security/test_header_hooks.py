"""The answer hooks on their cheap paths: security headers added only where missing
(whatever the case of a header the answer already has), and the cookie session opened
without its signer when a request carries no session cookie."""

from tests.security.conftest import send, sign_in_as

OWN_HEADERS = {"x-frame-options": "SAMEORIGIN", "REFERRER-POLICY": "no-referrer"}


def test_a_header_the_answer_already_has_is_kept_once_and_the_rest_added(app):
    with app.test_request_context("/api/v1/runs"):
        response = app.response_class("{}", mimetype="application/json")
        for name, value in OWN_HEADERS.items():
            response.headers[name] = value
        response = app.process_response(response)
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(response.headers.getlist("Content-Security-Policy")) == 1
    assert response.headers["Cache-Control"] == "no-store"


def test_an_api_call_without_a_cookie_sets_none_and_a_session_cookie_still_counts(app, world):
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {world.tokens.own}"}
    answer = send(app, client, "GET", "/api/v1/runs", headers=bearer)
    assert answer.status_code == 200
    assert answer.headers.getlist("Set-Cookie") == []
    assert send(app, client, "GET", "/admin").status_code == 302  # no session: sign in first
    sign_in_as(client, world.users.owner)
    assert send(app, client, "GET", "/admin").status_code == 200
    client.set_cookie("session", "forged.value.signature")
    assert send(app, client, "GET", "/admin").status_code == 302
