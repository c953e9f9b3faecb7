"""``ivr demo``: the whole automated survey on the embedded default, in under a minute."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ivr.commands.output import console as output_console


@click.command("demo")
@click.option(
    "--database",
    "database",
    type=click.Path(path_type=Path),
    default=Path("ivr-demo.db"),
    show_default=True,
    help="SQLite file for the demo; replaced on every run.",
)
@click.option(
    "--cases", default=450, show_default=True, help="USS cases to generate, over five quarters."
)
@click.option(
    "--vcas-cases", default=90, show_default=True, help="VCAS cases to generate, likewise."
)
@click.option("--seed", default=2026, show_default=True, help="Random seed for the mix.")
def command(database: Path, cases: int, vcas_cases: int, seed: int) -> None:
    """Import fictional cases and play every call through the real webhooks."""
    from ivr.demo.run import print_summary, run_demo

    if cases < 1 or vcas_cases < 0:
        raise click.BadParameter("--cases must be at least 1 and --vcas-cases at least 0")
    database = database.resolve()
    result = run_demo(
        database, uss_cases=cases, vcas_cases=vcas_cases, seed=seed, console=Console(stderr=True)
    )
    print_summary(result, database, output_console())
    sys.exit(1 if result.errors or result.mismatches else 0)
