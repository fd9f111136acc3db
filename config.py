"""Configuration classes. Values come from the environment when a class is instantiated."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-only-not-secret"
# Every secret value shipped in the repository (deploy/env.example, the README...): anyone
# who read it could sign session cookies or scrape /metrics. A test checks that each example
# file's values are listed here, so the list cannot fall behind the files.
KNOWN_PLACEHOLDERS = frozenset(
    {
        DEFAULT_SECRET_KEY,
        "replace-with-the-output-of-python-c-import-secrets-print-secrets.token_hex-32",
        "replace-with-a-random-token",
    }
)
PLACEHOLDER_PREFIXES = ("replace-with", "change-me", "changeme")
MIN_SECRET_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
SESSION_IDLE_SECONDS = 12 * 3600
SESSION_MAX_SECONDS = 7 * 24 * 3600


NOTIFICATION_SETTINGS = (
    "NOTIFICATIONS_GROUP_SECONDS",
    "NOTIFICATIONS_TIMEOUT_SECONDS",
    "NOTIFICATIONS_RETRY_BASE_SECONDS",
    "NOTIFICATIONS_RETRY_FOR_SECONDS",
)


class ConfigError(RuntimeError):
    """Raised when the environment describes a configuration that cannot run."""


class Config:
    """Development defaults: SQLite in instance/, embedded reconciler."""

    TESTING = False
    PRODUCTION = False
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 64 * 1024
    WTF_CSRF_TIME_LIMIT = None
    FOLLOW_UP_WINDOW_SECONDS = 7 * 24 * 3600
    RECONCILER_INTERVAL_SECONDS = 30
    RECONCILER_BATCH_SIZE = 500
    PASSWORD_HASH_METHOD = "scrypt"
    RATELIMIT_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "5/minute"
    LOGIN_LIMIT_PER_ADDRESS = "20/minute"
    # Notifications: events of one channel within this window go out as one message.
    NOTIFICATIONS_GROUP_SECONDS = 2
    NOTIFICATIONS_TIMEOUT_SECONDS = 5
    NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    NOTIFICATIONS_RETRY_FOR_SECONDS = 3600
    # Sent or failed deliveries (with their attempts) and settled outbox events are removed
    # by the reconciler's upkeep once older than this, in batches of NOTIFICATIONS_PRUNE_BATCH.
    NOTIFICATIONS_KEEP_DAYS = 30
    NOTIFICATIONS_PRUNE_BATCH = 1000

    def __init__(self):
        env = os.environ
        instance = BASE_DIR / "instance"
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'runwarden.db'}"
        )
        self.SECRET_KEY = env.get("SECRET_KEY", DEFAULT_SECRET_KEY)
        self.RUNWARDEN_RECONCILER = env.get("RUNWARDEN_RECONCILER", "embedded")
        self.RUNWARDEN_OPERATION_TYPES = env.get("RUNWARDEN_OPERATION_TYPES") or None
        self.METRICS_TOKEN = env.get("METRICS_TOKEN") or None
        self.METRICS_PUBLIC = env.get("RUNWARDEN_METRICS_PUBLIC") == "1"
        self.PROXY_HOPS = int(env.get("RUNWARDEN_PROXY_HOPS", "0"))
        self.SESSION_IDLE_SECONDS = int(
            env.get("RUNWARDEN_SESSION_IDLE_SECONDS") or SESSION_IDLE_SECONDS
        )
        self.SESSION_MAX_SECONDS = int(
            env.get("RUNWARDEN_SESSION_MAX_SECONDS") or SESSION_MAX_SECONDS
        )
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        # smtp://user:password@host:port?from=runwarden@example.com (smtps:// for TLS).
        self.SMTP_URL = env.get("SMTP_URL") or None
        for name in NOTIFICATION_SETTINGS:
            if env.get(name):
                setattr(self, name, float(env[name]))
        self.NOTIFICATIONS_KEEP_DAYS = positive_int(env, "NOTIFICATIONS_KEEP_DAYS", 30)
        self.NOTIFICATIONS_PRUNE_BATCH = positive_int(env, "NOTIFICATIONS_PRUNE_BATCH", 1000)
        # The reconciler looks stale (page warning, /readyz 503) after this long without a
        # finished pass; unset means three intervals.
        stale_after = env.get("RECONCILER_STALE_AFTER_SECONDS")
        self.RECONCILER_STALE_AFTER_SECONDS = int(stale_after) if stale_after else None
        if "RECONCILER_INTERVAL_SECONDS" in env:
            self.RECONCILER_INTERVAL_SECONDS = int(env["RECONCILER_INTERVAL_SECONDS"])
        # Connections that share the batches of one pass (PostgreSQL): a backlog of due
        # runs is closed on that many server processes at once.
        self.RECONCILER_WORKERS = positive_int(env, "RECONCILER_WORKERS", 3)
        # Worker reports per token, and what a run's timeline keeps before it only counts.
        self.API_REPORT_LIMIT = env.get("API_REPORT_LIMIT") or "50/second"
        # A verified token is trusted this long per process: a revoked one is refused by
        # every web process within it (0: read the token on every call).
        self.API_TOKEN_CACHE_SECONDS = whole_number(env, "API_TOKEN_CACHE_SECONDS", 5)
        self.TIMELINE_LATE_REPORTS_KEPT = int(env.get("TIMELINE_LATE_REPORTS_KEPT") or 100)
        self.TIMELINE_REGRESSIONS_KEPT = int(env.get("TIMELINE_REGRESSIONS_KEPT") or 100)
        self.LIVE_MODE = env.get("RUNWARDEN_LIVE", "embedded")
        if env.get("RUNWARDEN_LIVE_MAX_CLIENTS"):
            self.LIVE_MAX_CLIENTS = int(env["RUNWARDEN_LIVE_MAX_CLIENTS"])
        if self.LIVE_MODE not in ("embedded", "external"):
            raise ConfigError(
                f"RUNWARDEN_LIVE must be embedded or external (got {self.LIVE_MODE!r})"
            )
        if self.RUNWARDEN_RECONCILER not in ("embedded", "external", "off"):
            raise ConfigError(
                "RUNWARDEN_RECONCILER must be one of embedded, external, off "
                f"(got {self.RUNWARDEN_RECONCILER!r})"
            )


class ProductionConfig(Config):
    """Production: PostgreSQL expected, secure cookies, a real secret required."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PRODUCTION = True

    def __init__(self):
        super().__init__()
        refuse_placeholder("SECRET_KEY", self.SECRET_KEY)
        if len(self.SECRET_KEY) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_KEY_LENGTH} "
                "characters"
            )
        if self.METRICS_TOKEN is not None:
            refuse_placeholder("METRICS_TOKEN", self.METRICS_TOKEN)
            if len(self.METRICS_TOKEN) < MIN_METRICS_TOKEN_LENGTH:
                raise ConfigError(
                    f"METRICS_TOKEN must be a random value of at least "
                    f"{MIN_METRICS_TOKEN_LENGTH} characters"
                )


def positive_int(env, name, default):
    """``env[name]`` as a whole number of at least 1, ``default`` when unset."""
    return whole_number(env, name, default, least=1)


def whole_number(env, name, default, least=0):
    """``env[name]`` as a whole number of at least ``least``, ``default`` when unset."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < least:
        raise ConfigError(f"{name} must be a whole number of at least {least} (got {text!r})")
    return int(text)


def is_placeholder(value):
    """Whether ``value`` is a secret shipped in the repository (or reads like one)."""
    text = (value or "").strip()
    return text in KNOWN_PLACEHOLDERS or text.lower().startswith(PLACEHOLDER_PREFIXES)


def refuse_placeholder(name, value):
    """Raise ConfigError naming ``name`` when ``value`` is a shipped placeholder."""
    if is_placeholder(value):
        raise ConfigError(
            f"{name} is a placeholder shipped with Runwarden (see deploy/env.example): "
            "set it to a random value, e.g. python -c 'import secrets; "
            "print(secrets.token_hex(32))'"
        )


class TestConfig(Config):
    """Tests: in-memory SQLite unless TEST_DATABASE_URL is given, no scheduler, fast hashes."""

    __test__ = False  # not a pytest test class
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"

    def __init__(self, database_url=None):
        super().__init__()
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(database_url or "sqlite://")
        self.SECRET_KEY = "test-secret-key"
        self.RUNWARDEN_RECONCILER = "off"
        self.RUNWARDEN_OPERATION_TYPES = None
        self.METRICS_TOKEN = None


def normalize_database_url(url):
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
