"""flask channels ...: one JSON object per command, secrets masked after creation."""

import json

import pytest

HOOK = "https://hooks.example.com/services/T000/B000/SECRETPATHabcd"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        result = runner.invoke(args=list(args))
        stream = result.stdout if result.exit_code == 0 else result.stderr
        lines = stream.strip().splitlines()
        assert len(lines) == 1, result.output
        return result.exit_code, json.loads(lines[0])

    return invoke


def test_create_list_disable_enable(app, db, space, cli):
    code, made = cli(
        "channels",
        "create",
        "acme",
        "ops",
        "--kind",
        "webhook",
        "--target",
        HOOK,
        "--event",
        "failed",
        "--tenant",
        "contoso",
    )
    assert code == 0 and len(made["signing_secret"]) == 64
    assert made["target"] == "https://hooks.example.com/…abcd"
    assert (made["events"], made["tenant_ids"]) == (["failed"], [space.contoso.id])
    code, listed = cli("channels", "list", "acme")
    (shown,) = listed["channels"]
    assert "SECRETPATH" not in json.dumps(listed) and shown["signing_secret"].endswith("…")
    assert cli("channels", "disable", str(made["id"]))[1]["enabled"] is False
    assert cli("channels", "enable", str(made["id"]))[1]["enabled"] is True


def test_bad_arguments_are_json_errors(app, db, space, cli):
    code, body = cli("channels", "create", "acme", "x", "--kind", "slack", "--target", "ftp://x")
    assert code == 1 and body == {
        "error": "Only http:// and https:// URLs are accepted.",
        "field": "target",
    }
    code, body = cli("channels", "create", "nope", "x", "--kind", "slack", "--target", HOOK)
    assert code == 1 and body["error"] == "no workspace 'nope'"
    code, body = cli("channels", "mute", "acme", "contoso", "--until", "tomorrow")
    assert code == 1 and "ISO 8601" in body["error"]


def test_mute_test_log_and_send(app, db, space, cli, httpserver, clock):
    httpserver.expect_request("/hook").respond_with_data("ok")
    code, made = cli(
        "channels",
        "create",
        "acme",
        "ops",
        "--kind",
        "slack",
        "--target",
        httpserver.url_for("/hook"),
    )
    code, muted = cli("channels", "mute", "acme", "contoso", "--until", "2026-11-27T00:00:00Z")
    assert code == 0 and muted["until"] == "2026-11-27T00:00:00.000000Z"
    assert cli("channels", "unmute", "acme", "contoso")[1]["mutes_ended"] == 1
    code, tested = cli("channels", "test", str(made["id"]))
    assert (tested["status"], tested["error"]) == ("sent", None)
    code, log = cli("channels", "log", str(made["id"]))
    assert log["deliveries"][0]["attempts"][0]["ok"] is True
    code, tick = cli("channels", "send")
    assert code == 0 and tick["errors"] == []
