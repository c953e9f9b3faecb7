"""Play a questionnaire by hand in the terminal, through the same engine as the phone.

    python scripts/flow_runner.py questionnaires/uss.yaml --case first_name=Alex \\
        --case crime_type=burglary --case reported_on=2026-09-14 --case district=Stockton

Type keys (1-9, *), ``say: words`` for speech, ``rec`` for a recording, an empty line
for silence, or ``bye`` to hang up.
"""

from __future__ import annotations

import argparse
import sys

from ivr import engine
from ivr.questionnaire.loader import QuestionnaireError, load_file


def parse_event(line: str) -> engine.InputEvent:
    """What the person typed, as an engine input."""
    text = line.strip()
    if not text:
        return engine.Silence()
    if text == "bye":
        return engine.HangUp()
    if text == "rec":
        return engine.Recording("https://example.test/recording", 5)
    if text.startswith("say:"):
        return engine.Speech(text[4:].strip(), 0.9)
    return engine.Digits(text)


def main(argv: list[str] | None = None) -> int:
    """Run one interview on stdin/stdout; print the events as they happen."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questionnaire")
    parser.add_argument("--case", action="append", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)
    try:
        q = load_file(args.questionnaire).questionnaire
    except QuestionnaireError as exc:
        print(exc, file=sys.stderr)
        return 1
    case = dict(item.split("=", 1) for item in args.case)
    step = engine.start(q, case)
    while True:
        for prompt in step.prompts:
            print(f"  IVR: {prompt}")
        for event in step.events:
            print(f"  [{type(event).__name__}] {event}")
        if step.wait is None:
            print(f"  (call ends: {step.state.status.value})")
            return 0
        line = input(f"{step.wait.kind}> ")
        step = engine.step(q, step.state, parse_event(line))


if __name__ == "__main__":
    sys.exit(main())
