"""``ivr keys``: the data keys personal data is sealed with at rest."""

from __future__ import annotations

import sys

import click

from ivr.commands.output import needs_schema, plural
from ivr.services import current_services
from ivr.store.key_rotation import rotate
from ivr.store.sealing import SealingError, new_data_key


@click.group("keys")
def command() -> None:
    """Data keys for encryption at rest (IVR_DATA_KEY)."""


@command.command("new")
def new() -> None:
    """Print a fresh random key for IVR_DATA_KEY (nothing is changed or stored)."""
    click.echo(new_data_key())


@command.command("rotate")
@needs_schema
def rotate_command() -> None:
    """Reseal every name, number, note and transcript under IVR_DATA_KEY and recompute
    every number's hash; keys in IVR_DATA_KEY_PREVIOUS open what they sealed. Safe to
    run again; afterwards the previous keys can be removed.

    Without IVR_DATA_KEY, everything is written back in clear.
    """
    svc = current_services()
    try:
        done = rotate(svc.db)
    except SealingError as exc:
        click.echo(f"rotation stopped: {exc}", err=True)
        sys.exit(1)
    for name, rotated in done.items():
        click.echo(
            f"{name}: {plural(rotated.rows, 'row')} read, "
            f"{plural(rotated.resealed, 'value')} resealed, "
            f"{plural(rotated.rehashed, 'hash', 'hashes')} recomputed"
        )
    state = "sealed under IVR_DATA_KEY" if svc.db.keyring.seals else "in clear (no IVR_DATA_KEY)"
    click.echo(f"personal data is now {state}")
