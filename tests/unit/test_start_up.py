"""Start-up: the command lists itself without importing the app, and each web worker
freezes what it built before serving."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.commands import COMMANDS, load

#: What ``ivr --help`` must not import: each costs tens of milliseconds or more.
HEAVY = ("sqlalchemy", "flask", "ivr.store", "ivr.app", "holidays", "argon2", "pydantic")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_help_line_is_the_commands_own(name: str) -> None:
    command = load(name)
    assert command.name == name
    assert COMMANDS[name][1] == command.get_short_help_str(limit=1000)


def test_every_command_is_listed_and_runs_its_own_help() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0, listed.output
    for name in COMMANDS:
        assert f"  {name} " in listed.output
        own = CliRunner().invoke(main, [name, "--help"])
        assert own.exit_code == 0, own.output
        assert f"Usage: ivr {name}" in own.output


def test_an_unknown_command_is_refused_with_the_usage() -> None:
    result = CliRunner().invoke(main, ["nonsense"])
    assert result.exit_code == 2
    assert "No such command 'nonsense'" in result.output


def test_the_listing_imports_nothing_heavy() -> None:
    probe = (
        "import json, sys\n"
        "from ivr.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "Commands:" in done.stdout
    imported = json.loads(done.stderr.strip().splitlines()[-1])
    heavy = [m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []


def test_a_web_worker_freezes_what_it_built_and_raises_the_thresholds() -> None:
    probe = (
        "import gc, json\n"
        "from ivr import gunicorn_config\n"
        "import ivr.wsgi\n"
        "before = gc.get_freeze_count()\n"
        "gunicorn_config.post_worker_init(None)\n"
        "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))\n"
    )
    env_settings = {
        "IVR_ENV": "development",
        "DATABASE_URL": "sqlite://",
        "SECRET_KEY": "start-up-test",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_settings,
    )
    assert done.returncode == 0, done.stderr
    before, after, threshold = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == 0
    # The app's modules, models and questionnaires: far more than a bare interpreter's.
    assert after > 50_000
    from ivr.gunicorn_config import GC_THRESHOLD

    assert tuple(threshold) == GC_THRESHOLD


def test_the_group_is_lazy() -> None:
    assert isinstance(main, click.Group)
    assert set(main.list_commands(click.Context(main))) == set(COMMANDS)
