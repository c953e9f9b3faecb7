"""Loading questionnaires: every problem reported at once as file:line: where: what."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.questionnaire.loader import QuestionnaireError, load_file, parse_questionnaire

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
id: demo
version: 1
title: Demo
case_fields:
  first_name: {type: text}
  crime_type: {type: choice, choices: {burglary: a burglary, vehicle: a vehicle crime}}
  district: {type: text}
opening: Hello.
identity:
  prompt: Am I speaking to {first_name}?
consent:
  prompt: Will you take part?
questions:
%s
closing:
  completed: Bye.
  refused: Bye.
  callback: Bye.
  wrong_person: Bye.
  no_response: Bye.
"""


def problems_of(questions: str, extra: str = "") -> list[str]:
    source = BASE % textwrap.indent(textwrap.dedent(questions).strip("\n"), "  ") + extra
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(source, "q.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("name", ["uss.yaml", "vcas_exit.yaml"])
def test_shipped_questionnaires_are_valid(name: str) -> None:
    loaded = load_file(ROOT / "questionnaires" / name)
    assert loaded.questionnaire.questions


def test_uss_has_the_five_home_office_core_questions_on_the_seven_point_scale() -> None:
    q = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
    assert q.core_ids == (
        "ease_of_contact",
        "actions_taken",
        "kept_informed",
        "treatment",
        "whole_experience",
    )
    for qid in q.core_ids:
        question = q.question(qid)
        assert question.type.value == "scale7"
        assert "satisfied, dissatisfied or neither" in question.prompt


def test_unknown_key_is_reported_with_its_line_and_question() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: Was it good?
          colour: red
    """)
    source = BASE % "  - id: first\n    type: yes_no\n    prompt: Was it good?\n    colour: red"
    assert found == [f"q.yaml:{line_of(source, 'colour')}: question 'first': unknown key 'colour'"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: Was it good?
        - id: first
          type: scale7
          prompt: How satisfied?
          when: {answer: later, in: ["1"]}
        - id: later
          type: choice
          prompt: Pick one.
          options:
            - {key: "*", label: star}
            - {key: 1, label: one}
        - id: skipped
          type: yes_no
          prompt: Never asked.
          when: {case: crime_type, in: [arson]}
    """)
    text = "\n".join(found)
    assert "question 'first': duplicate id" in text
    assert "question 'first': 'when:' names question 'later', which is not asked before" in text
    assert "question 'later': option key '*' clashes with the reserved key" in text
    assert "question 'skipped': 'arson' is not a choice of case field 'crime_type'" in text
    assert all(line.startswith("q.yaml:") for line in found)
    assert len(found) == 4


def test_when_naming_an_unknown_question_is_an_error() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: Was it good?
          when: {answer: nowhere, in: ["1"]}
    """)
    assert found == [
        f"q.yaml:{line_of(BASE % '', 'questions:') + 4}: question 'first': "
        "'when:' names unknown question 'nowhere'"
    ]


def test_goto_backwards_is_a_loop() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: One?
        - id: second
          type: choice
          prompt: Two?
          options:
            - {key: 1, label: again, goto: first}
            - {key: 2, label: on}
    """)
    assert any(
        "goto 'first' goes back to an earlier question, which makes a loop" in p for p in found
    )


def test_question_jumped_over_by_every_path_is_unreachable() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: One?
          goto: third
        - id: second
          type: yes_no
          prompt: Two?
        - id: third
          type: yes_no
          prompt: Three?
    """)
    assert len(found) == 1
    assert "question 'second': unreachable" in found[0]


def test_case_details_cannot_be_spoken_before_the_identity_check() -> None:
    source = (BASE % "  - id: first\n    type: yes_no\n    prompt: One?").replace(
        "opening: Hello.", "opening: Hello about {crime_type}."
    )
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(source, "q.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "q.yaml:8: opening: prompt uses '{crime_type}' before the identity check "
        "(case details may only be spoken to the right person)"
    ]


def test_placeholder_must_be_a_case_field() -> None:
    found = problems_of("""
        - id: first
          type: yes_no
          prompt: About {offence}?
    """)
    assert len(found) == 1 and "'{offence}', which is not in case_fields" in found[0]


def test_missing_required_section_and_bad_type_are_reported() -> None:
    source = BASE.replace("consent:\n  prompt: Will you take part?\n", "") % (
        "  - id: first\n    type: slider\n    prompt: One?"
    )
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(source, "q.yaml")
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "missing 'consent'" in text
    assert "question 'first': 'type': Input should be" in text


def test_yes_and_no_stay_words_in_synonyms() -> None:
    source = BASE % textwrap.indent(
        textwrap.dedent("""\
        - id: first
          type: choice
          prompt: Pick.
          options:
            - {key: 1, label: agree, synonyms: [yes, on]}
            - {key: 2, label: disagree, synonyms: [no, off]}
    """),
        "  ",
    )
    q = parse_questionnaire(source, "q.yaml").questionnaire
    assert q.question("first").options[1].synonyms == ("no", "off")


def test_duplicate_yaml_key_and_invalid_yaml_are_reported() -> None:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("id: a\nid: b\n", "q.yaml")
    assert "q.yaml:2: duplicate key 'id'" in str(caught.value)
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire("id: [unclosed\n", "q.yaml")
    assert "not valid YAML" in str(caught.value)


def test_check_command_reports_problems_and_exits_non_zero(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ivr.commands.questionnaires import check

    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE % "  - id: first\n    type: yes_no\n    prompt: One?\n    colour: red")
    result = CliRunner().invoke(check, [str(ROOT / "questionnaires"), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:17: question 'first': unknown key 'colour'" in result.output
    good = CliRunner().invoke(check, [str(ROOT / "questionnaires")])
    assert good.exit_code == 0, good.output
