"""Command groups of the ``ivr`` command, one module each."""

from __future__ import annotations

import importlib

import click

#: Modules that each define ``command`` (a click command or group) to add to ``ivr``.
MODULES = (
    "db",
    "questionnaires",
    "sample",
    "referrals",
    "results",
    "campaign",
    "dnc",
    "demo",
    "users",
    "audit",
    "subject",
    "retention",
    "keys",
    "serve",
)


def register(group: click.Group) -> None:
    """Add every available command module's ``command`` to ``group``."""
    for name in MODULES:
        try:
            module = importlib.import_module(f"ivr.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ivr.commands.{name}":
                raise
            continue
        group.add_command(module.command)
