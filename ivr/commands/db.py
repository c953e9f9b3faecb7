"""``ivr db upgrade``: bring the database schema up to date."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.services import current_services


@click.group("db")
def command() -> None:
    """Database schema."""


@command.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision.")
@with_appcontext
def upgrade(revision: str) -> None:
    """Apply database migrations (safe to run repeatedly)."""
    svc = current_services()
    svc.db.upgrade(revision)
    click.echo(f"database at {revision}", err=True)
