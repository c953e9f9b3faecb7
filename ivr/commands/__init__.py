"""Command groups of the ``ivr`` command, one module each, imported only when used.

``ivr --help`` lists every command from :data:`COMMANDS` without importing any of them:
the modules bring in SQLAlchemy, the questionnaire models and the app, which a listing
does not need and which would make every ``--help`` (and every shell completion) wait.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: Each command's module under ``ivr.commands`` (it defines ``command``) and its one-line
#: help, the first line of the command's own docstring (a test keeps the two the same).
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("audit", "The audit trail."),
    "campaign": ("campaign", "Outbound survey campaigns."),
    "db": ("db", "Database schema."),
    "demo": ("demo", "Import fictional cases and play every call through the real webhooks."),
    "dnc": ("dnc", "Numbers never to ring again."),
    "keys": ("keys", "Data keys for encryption at rest (IVR_DATA_KEY)."),
    "questionnaires": ("questionnaires", "Questionnaire files."),
    "referrals": ("referrals", "Referrals for districts and services."),
    "report": (
        "report",
        "A survey's quarterly report: figures, breakdowns, changes, trend, response rates, "
        "representativeness and service recovery, as HTML, PDF, CSV tables or JSON.",
    ),
    "results": ("results", "Survey results."),
    "retention": ("retention", "How long what is held is kept."),
    "run": (
        "serve",
        "Serve the staff pages and Twilio's webhooks (production: gunicorn ivr.wsgi:app).",
    ),
    "sample": ("sample", "Samples of cases to survey."),
    "subject": ("subject", "A data subject's requests (subject access, erasure)."),
    "users": (
        "users",
        "Staff accounts: add, disable and enable, reset passwords and second factors, "
        "sign out and list them.",
    ),
}


def load(name: str) -> click.Command:
    """The command ``name`` from its module."""
    module = importlib.import_module(f"ivr.commands.{COMMANDS[name][0]}")
    command: click.Command = module.command
    return command


class LazyGroup(click.Group):
    """A group whose commands are imported when one is run or its own help is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: list[tuple[str, Any]] = []
        for name in names:
            if name in self.commands:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                # Shortened exactly as the command itself would shorten its help.
                listed = click.Command(name, help=COMMANDS[name][1])
                rows.append((name, listed.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
