"""gunicorn.conf.py: the live process's worker may yield the CPU to page loads and the API;
every worker freezes the app it loaded out of the collector."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, os, runpy
settings = runpy.run_path("gunicorn.conf.py")
before = os.nice(0)
settings["post_fork"](None, None)
print(json.dumps([before, os.nice(0)]))
"""


def _fork_niceness(**env):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("RUNWARDEN_")}, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result


def test_the_live_worker_keeps_its_priority_by_default_and_is_made_nicer_when_asked():
    before, after = json.loads(_fork_niceness(RUNWARDEN_SERVE="live").stdout)
    assert after == before
    before, after = json.loads(
        _fork_niceness(RUNWARDEN_SERVE="live", RUNWARDEN_LIVE_NICE="10").stdout
    )
    assert after == min(19, before + 10)


def test_the_live_niceness_is_configurable_and_zero_keeps_the_priority():
    before, after = json.loads(
        _fork_niceness(RUNWARDEN_SERVE="live", RUNWARDEN_LIVE_NICE="0").stdout
    )
    assert after == before
    before, after = json.loads(
        _fork_niceness(RUNWARDEN_SERVE="live", RUNWARDEN_LIVE_NICE="19").stdout
    )
    assert after == 19


def test_web_workers_keep_their_priority():
    before, after = json.loads(_fork_niceness(RUNWARDEN_SERVE="web").stdout)
    assert after == before


def test_a_bad_niceness_is_refused_with_a_clear_error():
    for bad in ("20", "-5", "ten", "", "１０"):
        result = _fork_niceness(RUNWARDEN_SERVE="live", RUNWARDEN_LIVE_NICE=bad)
        assert result.returncode != 0 and result.stdout == ""
        assert "RUNWARDEN_LIVE_NICE must be a whole number 0 to 19" in result.stderr


FREEZE_PROBE = """
import gc, json, runpy
settings = runpy.run_path("gunicorn.conf.py")
gc.collect()
before = gc.get_freeze_count()
settings["post_worker_init"](None)
print(json.dumps([before, gc.get_freeze_count()]))
"""


def test_a_worker_freezes_the_loaded_app_out_of_the_collector():
    for serve in ("web", "live"):
        result = subprocess.run(
            [sys.executable, "-c", FREEZE_PROBE],
            cwd=ROOT,
            env={**os.environ, "RUNWARDEN_SERVE": serve},
            capture_output=True,
            text=True,
            timeout=30,
        )
        before, after = json.loads(result.stdout)
        assert before == 0 and after > 1000, (serve, result.stderr)
