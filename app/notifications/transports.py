"""Sending one message: a signed JSON webhook, a Slack-compatible webhook, or email.

Network only: no database here. Each call returns an Outcome and never raises for what a
receiver did. Errors name what went wrong, never the target URL or a password.
"""

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

USER_AGENT = "Runwarden-Notifications/1"
SIGNATURE_HEADER = "X-Runwarden-Signature"
TIMESTAMP_HEADER = "X-Runwarden-Timestamp"
DELIVERY_HEADER = "X-Runwarden-Delivery"
# Answers that retrying cannot fix: the receiver is gone or refuses this request.
PERMANENT_STATUSES = {400, 401, 403, 404, 405, 410, 413, 422}
MAX_ERROR = 300


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: ``ok``, the HTTP status (if any), an error, whether final."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class Message:
    """What is sent: the delivery's id, title, JSON payload and the signing time."""

    delivery_id: str
    title: str
    payload: dict
    timestamp: int


def sign(secret, timestamp, body):
    """``v1=<hex HMAC-SHA256 of "<timestamp>." + body>`` under ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is answered as the 3xx it is


_opener = urllib.request.build_opener(_NoRedirect)


def _post_json(url, body, headers, timeout):
    request = urllib.request.Request(url, data=body, method="POST")
    for name, value in {"Content-Type": "application/json", "User-Agent": USER_AGENT}.items():
        request.add_header(name, value)
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(4096)
            return Outcome(True, response.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
        permanent = code in PERMANENT_STATUSES or 300 <= code < 400
        return Outcome(False, code, f"HTTP {code} {exc.reason}"[:MAX_ERROR], permanent)
    except TimeoutError:
        return Outcome(False, None, f"no answer within {timeout:g} s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Outcome(False, None, f"no answer within {timeout:g} s")
        return Outcome(False, None, f"cannot connect: {reason}"[:MAX_ERROR])
    except (OSError, ValueError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])


def send_webhook(url, secret, message, timeout):
    """POST the payload as JSON, signed over the timestamp and the body."""
    body = json.dumps(
        {"delivery_id": message.delivery_id, **message.payload}, sort_keys=True
    ).encode()
    headers = {
        DELIVERY_HEADER: message.delivery_id,
        TIMESTAMP_HEADER: str(message.timestamp),
        SIGNATURE_HEADER: sign(secret, message.timestamp, body),
    }
    return _post_json(url, body, headers, timeout)


def send_slack(url, message, timeout):
    """POST ``{"text": ...}`` as Slack (and Mattermost, Rocket.Chat...) incoming webhooks take."""
    body = json.dumps({"text": message.payload["text"]}).encode()
    return _post_json(url, body, {DELIVERY_HEADER: message.delivery_id}, timeout)


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP_URL parsed: ``smtp[s]://[user[:password]@]host[:port][?from=...&starttls=1]``."""

    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def parse(cls, url):
        """The settings of ``url``; ValueError when it is not an SMTP URL."""
        parts = urlsplit(url or "")
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?from=...")
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            tls=tls,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", [f"runwarden@{parts.hostname}"])[0],
        )


def send_email(smtp_url, recipients, message, timeout):
    """Send the message's text to ``recipients`` (comma-separated) through SMTP_URL."""
    try:
        settings = SmtpSettings.parse(smtp_url)
    except ValueError as exc:
        return Outcome(False, None, str(exc) if smtp_url else "SMTP_URL is not set", True)
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = settings.sender
    email["To"] = recipients
    email["Message-ID"] = make_msgid(idstring=message.delivery_id, domain="runwarden")
    email["X-Runwarden-Delivery"] = message.delivery_id
    email.set_content(message.payload["text"])
    try:
        return _smtp_send(settings, email, timeout)
    except smtplib.SMTPRecipientsRefused:
        return Outcome(False, None, "every recipient was refused", True)
    except smtplib.SMTPAuthenticationError as exc:
        return Outcome(False, exc.smtp_code, f"SMTP authentication failed ({exc.smtp_code})", True)
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        return Outcome(False, exc.smtp_code, f"SMTP {exc.smtp_code}"[:MAX_ERROR], permanent)
    except TimeoutError:
        return Outcome(False, None, f"no answer within {timeout:g} s")
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])


def _smtp_send(settings, email, timeout):
    cls = smtplib.SMTP_SSL if settings.tls else smtplib.SMTP
    kwargs = {"context": ssl.create_default_context()} if settings.tls else {}
    with cls(settings.host, settings.port, timeout=timeout, **kwargs) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(email)
    return Outcome(True, 250)


def send(channel_kind, target, secret, message, *, timeout, smtp_url):
    """Send ``message`` to a channel of ``channel_kind``; the Outcome and the seconds taken."""
    started = time.perf_counter()
    if channel_kind == "webhook":
        outcome = send_webhook(target, secret, message, timeout)
    elif channel_kind == "slack":
        outcome = send_slack(target, message, timeout)
    else:
        outcome = send_email(smtp_url, target, message, timeout)
    return outcome, time.perf_counter() - started
