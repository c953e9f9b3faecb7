"""``ivr questionnaires check``: validate questionnaire files, reporting every problem."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.questionnaire.loader import QuestionnaireError, load_file


@click.group("questionnaires")
def command() -> None:
    """Questionnaire files."""


@command.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check questionnaire YAML files (default: every file in ./questionnaires).

    Prints one line per problem as ``file:line: where: what`` and exits 1 on any.
    """
    if not paths:
        paths = (Path("questionnaires"),)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        else:
            files.append(path)
    if not files:
        click.echo("no questionnaire files found", err=True)
        sys.exit(1)
    failed = False
    for file in files:
        try:
            loaded = load_file(file)
        except QuestionnaireError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        q = loaded.questionnaire
        click.echo(f"{file}: ok ({q.id} version {q.version}, {len(q.questions)} questions)")
    sys.exit(1 if failed else 0)
