"""What `flask demo seed` builds: workspaces, people, and the runs of every state."""

from app.operations import freshness as fr

DEMO_PASSWORD = "runwarden-demo"
WORKSPACES = {
    "acme": (
        "Acme Operations",
        [
            ("contoso", "Contoso"),
            ("fabrikam", "Fabrikam"),
            ("northwind", "Northwind Traders"),
            ("tailspin", "Tailspin Toys"),
            ("wingtip", "Wingtip Toys"),
        ],
    ),
    "globex": ("Globex", [("globex-hq", "Globex HQ")]),
}
USERS = [
    ("owner@example.com", "Olivia Owner", "acme", "owner", ()),
    ("operator@example.com", "Oscar Operator", "acme", "operator", ("contoso", "fabrikam")),
    ("viewer@example.com", "Vera Viewer", "acme", "viewer", ("contoso",)),
    ("globex-owner@example.com", "Gus Globex", "globex", "owner", ()),
]
M = 60
H = 3600
D = 24 * H

# Active at seed time: (workspace, tenant, type, created ago, started ago,
# [(heartbeat ago, processed)], total), in seconds before now.
ACTIVE = [
    # likely stale: no_heartbeat
    ("acme", "contoso", "baseline_compare", 750, 720, [(660, 120), (600, 260), (510, 340)], 1200),
    # fresh
    ("acme", "contoso", "inventory_sync", 200, 180, [(120, 900), (20, 1800)], 5000),
    ("acme", "contoso", "report_export", 40, None, [], None),
    # past expected
    ("acme", "fabrikam", "baseline_compare", 870, 840, [(720, 200), (360, 610), (45, 900)], 1200),
    # likely stale: no_progress (heartbeats keep coming, processed stays at 2100)
    (
        "acme",
        "fabrikam",
        "inventory_sync",
        1530,
        1500,
        [(1320, 1400), (1140, 2100), (840, 2100), (540, 2100), (240, 2100), (30, 2100)],
        8000,
    ),
    # fresh
    ("acme", "northwind", "policy_restore", 380, 360, [(240, 5), (50, 12)], 40),
    # past expected (queued)
    ("acme", "northwind", "inventory_sync", 360, None, [], None),
    # likely stale: lifecycle_exceeded
    ("acme", "tailspin", "report_export", 1480, 1440, [], None),
    # likely stale: never_started
    ("acme", "wingtip", "baseline_compare", 1140, None, [], None),
    # past expected
    ("acme", "wingtip", "policy_restore", 1650, 1620, [(1200, 8), (600, 19), (60, 31)], 60),
    # workspace-level: fresh, fresh (queued), past expected, likely stale (lifecycle_exceeded)
    ("acme", None, "report_export", 140, 120, [], None),
    ("acme", None, "inventory_sync", 20, None, [], None),
    ("acme", None, "report_export", 510, 480, [], None),
    ("acme", None, "baseline_compare", 2000, 1980, [(1800, 100), (900, 700), (25, 1180)], 1200),
    # the other workspace: fresh, likely stale (no_heartbeat)
    ("globex", "globex-hq", "inventory_sync", 250, 240, [(60, 3000)], 9000),
    ("globex", "globex-hq", "baseline_compare", 920, 900, [(780, 50), (600, 90)], 400),
]

# Closed by the reconciler: (tenant, type, created ago, queued for, [(beat after start, processed)],
# total). The last one also gets a late report.
RECONCILED = [
    ("fabrikam", "policy_restore", 4 * D, 40, [(120, 4), (360, 9), (720, 9), (1440, 9)], 30),
    ("wingtip", "report_export", 2 * D + 3 * H, None, [], None),
    (None, "baseline_compare", 6 * D, 30, [(s, s // 2) for s in range(240, 2040, 240)], 1000),
    ("contoso", "inventory_sync", 20 * H, 30, [(120, 400), (300, 1100)], 6000),
]

# Terminal follow-ups: (tenant, type, created ago, outcome, message).
FOLLOW_UPS = [
    ("contoso", "baseline_compare", 3 * H, "failed", "Graph API throttled the compare (429)"),
    ("fabrikam", "inventory_sync", 6 * H, "partially_succeeded", "118 devices were unreachable"),
    (None, "report_export", 30 * H, "failed", "Storage quota exceeded writing the export"),
    (
        "northwind",
        "policy_restore",
        3 * D,
        "failed",
        "Conditional Access policy rejected: licence lacks Entra ID P1",
    ),
    ("tailspin", "inventory_sync", 5 * D, "partially_succeeded", "42 apps had no owner"),
    ("wingtip", "report_export", 7 * D + 12 * H, "failed", "Report template missing"),
]

STALE_WORDING = {
    fr.NEVER_STARTED: "queued without starting for more than",
    fr.NO_HEARTBEAT: "no heartbeat for more than",
    fr.NO_PROGRESS: "no progress for more than",
    fr.LIFECYCLE_EXCEEDED: "running for more than",
}
FAILURES = [
    "Worker lost its connection to the tenant API",
    "Access token expired during the run",
    "Upstream API answered 503 three times",
]
CONTEXT = {
    "inventory_sync": ("scope", ["devices", "users", "apps", "groups"]),
    "baseline_compare": ("baseline", ["CIS Level 1", "Security defaults", "Finance hardening"]),
    "policy_restore": ("policy", ["Conditional Access", "Device compliance", "App protection"]),
    "report_export": ("report", ["Compliance summary", "Drift report", "Licence usage"]),
}
TOTALS = {
    "inventory_sync": (500, 12000),
    "baseline_compare": (200, 1500),
    "policy_restore": (5, 60),
}
INITIATORS = ["schedule:nightly", "schedule:hourly", "schedule:hourly", "api:drift-monitor"]
PEOPLE = {"acme": "owner@example.com", "globex": "globex-owner@example.com"}
WORKERS = ["worker-eu-1", "worker-eu-2", "worker-us-1"]
