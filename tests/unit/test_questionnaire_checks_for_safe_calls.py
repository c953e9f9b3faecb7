"""The loader's checks that keep a call safe and its figures sound.

A questionnaire is rejected, with a ``file:line`` problem saying what is wrong, when: the
phone and an interviewer would ask different words; anything a sensitive case's call says
before identity and safety are confirmed (or the goodbyes that end such a call) names the
police, a crime, a victim or the survey, or speaks a case detail other than the first name;
``positive:`` or ``non_substantive:`` keys do not fit the question's answers; the partial
threshold cannot be reached; or a survey that rings victims has no safety check.

Variants are made by editing the text of the shipped questionnaires/uss.yaml; every edit
first checks that the text it replaces is there, so no test can silently test nothing.
A version an interview pinned is read without these checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.questionnaire.checks import check_questionnaire
from ivr.questionnaire.loader import (
    Problem,
    QuestionnaireError,
    load_file,
    parse_questionnaire,
)

ROOT = Path(__file__).resolve().parents[2]
# Without its translations: an edit to the English words would otherwise also be reported
# against the Welsh (tests/unit/test_translations.py checks those).
USS_TEXT = (
    (ROOT / "questionnaires" / "uss.yaml").read_text(encoding="utf-8").split("\ntranslations:")[0]
)
FILE = "uss.yaml"
SAME_WORDS = "the phone and the interviewer must ask the same words"
NOT_BEFORE_CHECKS = "must not say before identity and safety are confirmed"


def edited(old: str, new: str, text: str = USS_TEXT) -> str:
    """``text`` with ``old`` (which must be there exactly once) replaced by ``new``."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the questionnaire"
    return text.replace(old, new)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, FILE)
    assert caught.value.problems
    return caught.value.problems


def line_of(text: str, *starts: str) -> int:
    """The line starting with the last of ``starts``, each found after the one before."""
    lines = text.splitlines()
    at = 0
    for start in starts:
        at = next(i for i in range(at, len(lines)) if lines[i].startswith(start))
    return at + 1


def test_check_helpers_find_what_they_are_asked_for() -> None:
    lines = USS_TEXT.splitlines()
    assert lines[line_of(USS_TEXT, "identity:") - 1] == "identity:"
    assert lines[line_of(USS_TEXT, "safety:", "  keypad:") - 1].startswith(
        "  keypad: If it is safe"
    )
    with pytest.raises(AssertionError):
        edited("text that is not in the questionnaire", "x")


# --- the shipped questionnaires ----------------------------------------------------------


@pytest.mark.parametrize("name", ["uss.yaml", "vcas_exit.yaml"])
def test_shipped_questionnaire_loads_with_no_problems(name: str) -> None:
    loaded = load_file(ROOT / "questionnaires" / name)
    assert check_questionnaire(loaded.questionnaire) == []
    assert loaded.questionnaire.safety is not None


# --- the same words in both modes --------------------------------------------------------

EASE_OF_CONTACT_HEAD = "  - id: ease_of_contact\n    type: scale7\n"


def test_question_whose_interviewer_wording_differs_from_its_prompt_is_rejected() -> None:
    text = edited(
        EASE_OF_CONTACT_HEAD,
        EASE_OF_CONTACT_HEAD + "    interviewer: How easy was it to get through to someone?\n",
    )
    [problem] = problems_of(text)
    assert (problem.file, problem.line, problem.where) == (
        FILE,
        line_of(text, "    interviewer:"),
        "question 'ease_of_contact'",
    )
    assert SAME_WORDS in problem.message
    assert "'instructions:'" in problem.message


@pytest.mark.parametrize(
    "interviewer",
    [
        pytest.param(
            "    interviewer: >-\n"
            "      Thinking about when you first contacted the police, were you satisfied,\n"
            "      dissatisfied or neither with how easy it was to contact someone who\n"
            "      could help you?\n",
            id="same words wrapped differently",
        ),
        pytest.param(
            "    interviewer: Thinking about when you first contacted the police, were "
            "you satisfied, dissatisfied or neither with how easy it was to contact "
            "someone who could help you?\n",
            id="same words on one line",
        ),
    ],
)
def test_question_whose_interviewer_wording_equals_its_prompt_loads(interviewer: str) -> None:
    text = edited(EASE_OF_CONTACT_HEAD, EASE_OF_CONTACT_HEAD + interviewer)
    q = parse_questionnaire(text, FILE).questionnaire
    question = q.question("ease_of_contact")
    assert question.interviewer is not None
    assert " ".join(question.interviewer.split()) == " ".join(question.prompt.split())


@pytest.mark.parametrize(
    ("step", "interviewer"),
    [
        ("identity", "Hello, could I speak to {first_name} please?"),
        ("safety", "Can you talk freely?"),
        ("convenience", "Have you got a few minutes?"),
        ("consent", "Are you happy to answer some questions?"),
        ("callback_time", "When shall we ring back?"),
    ],
)
def test_control_step_whose_interviewer_wording_differs_from_its_prompt_is_rejected(
    step: str, interviewer: str
) -> None:
    text = edited(f"\n{step}:\n", f"\n{step}:\n  interviewer: {interviewer}\n")
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (line_of(text, f"{step}:", "  interviewer:"), step)
    assert SAME_WORDS in problem.message


@pytest.mark.parametrize(
    ("step", "prompt"),
    [
        ("identity", "Am I speaking to {first_name}?"),
        ("safety", "Is it safe for you to talk now?"),
    ],
)
def test_control_step_whose_interviewer_wording_equals_its_prompt_loads(
    step: str, prompt: str
) -> None:
    text = edited(f"\n{step}:\n", f"\n{step}:\n  interviewer: {prompt}\n")
    q = parse_questionnaire(text, FILE).questionnaire
    assert getattr(q, step).interviewer == prompt


# --- nothing revealing before identity and safety ----------------------------------------


@pytest.mark.parametrize(
    ("where", "old", "new", "word", "key_line"),
    [
        (
            "sensitive_opening",
            "sensitive_opening: Hello, this is an automated call from the customer contact team.",
            "sensitive_opening: Hello, this is an automated call from the police contact team.",
            "police",
            ("sensitive_opening:",),
        ),
        (
            "identity",
            "  prompt: Am I speaking to {first_name}?",
            "  prompt: Am I speaking to {first_name}, the victim?",
            "victim",
            ("identity:", "  prompt:"),
        ),
        (
            "identity",
            "    If you are, press 1 or say yes. If {first_name} is not available now, press 2.",
            "    If you are, press 1 for the survey. "
            "If {first_name} is not available now, press 2.",
            "survey",
            ("identity:", "  keypad:"),
        ),
        (
            "safety",
            "  prompt: Is it safe for you to talk now?",
            "  prompt: Is it safe for you to talk about the abuse now?",
            "abuse",
            ("safety:", "  prompt:"),
        ),
        (
            "safety",
            "  keypad: If it is safe, press 1 or say yes. If it is not, press 2.",
            "  keypad: If it is safe to talk about the crime, press 1. If it is not, press 2.",
            "crime",
            ("safety:", "  keypad:"),
        ),
        (
            "callback_time",
            "  prompt: When would be a better time to call?",
            "  prompt: When would be a better time to call about the incident?",
            "incident",
            ("callback_time:", "  prompt:"),
        ),
        (
            "closing",
            "  unsafe: Thank you for your time. Goodbye.",
            "  unsafe: Thank you for your time. The police will not ring again. Goodbye.",
            "police",
            ("closing:", "  unsafe:"),
        ),
        (
            "closing",
            "  no_response: Sorry we could not hear you. Goodbye.",
            "  no_response: Sorry we could not hear you. We will ring about the survey again.",
            "survey",
            ("closing:", "  no_response:"),
        ),
        (
            "closing",
            "  callback: Thank you. We will call back at another time. Goodbye.",
            "  callback: Thank you. We will call back about the crime another time. Goodbye.",
            "crime",
            ("closing:", "  callback:"),
        ),
        (
            "closing",
            "  wrong_person: Sorry to have troubled you. Goodbye.",
            "  wrong_person: Sorry, we were calling a victim. Goodbye.",
            "victim",
            ("closing:", "  wrong_person:"),
        ),
    ],
    ids=[
        "sensitive_opening says police",
        "identity prompt says victim",
        "identity keypad says survey",
        "safety prompt says abuse",
        "safety keypad says crime",
        "callback_time prompt says incident",
        "closing unsafe says police",
        "closing no_response says survey",
        "closing callback says crime",
        "closing wrong_person says victim",
    ],
)
def test_words_said_before_identity_and_safety_that_reveal_the_call_are_rejected(
    where: str, old: str, new: str, word: str, key_line: tuple[str, ...]
) -> None:
    text = edited(old, new)
    [problem] = problems_of(text)
    assert (problem.file, problem.line, problem.where) == (FILE, line_of(text, *key_line), where)
    assert f"says '{word}'" in problem.message
    assert NOT_BEFORE_CHECKS in problem.message


@pytest.mark.parametrize(
    ("where", "old", "new", "field", "key_line"),
    [
        (
            "sensitive_opening",
            "sensitive_opening: Hello, this is an automated call from the customer contact team.",
            "sensitive_opening: Hello, this is a call about {reported_on}.",
            "reported_on",
            ("sensitive_opening:",),
        ),
        (
            "identity",
            "  prompt: Am I speaking to {first_name}?",
            "  prompt: Am I speaking to {first_name} about {crime_type}?",
            "crime_type",
            ("identity:", "  prompt:"),
        ),
        (
            "identity",
            "    If you are, press 1 or say yes. If {first_name} is not available now, press 2.",
            "    If you are, press 1. If {first_name} of {district} is not available now, press 2.",
            "district",
            ("identity:", "  keypad:"),
        ),
        (
            "safety",
            "  prompt: Is it safe for you to talk now?",
            "  prompt: Is it safe for you to talk about {crime_type} now?",
            "crime_type",
            ("safety:", "  prompt:"),
        ),
        (
            "callback_time",
            "  prompt: When would be a better time to call?",
            "  prompt: When would be a better time to call about {reported_on}?",
            "reported_on",
            ("callback_time:", "  prompt:"),
        ),
        (
            "closing",
            "  unsafe: Thank you for your time. Goodbye.",
            "  unsafe: Thank you for your time about {crime_type}. Goodbye.",
            "crime_type",
            ("closing:", "  unsafe:"),
        ),
        (
            "closing",
            "  wrong_person: Sorry to have troubled you. Goodbye.",
            "  wrong_person: Sorry to have troubled you in {district}. Goodbye.",
            "district",
            ("closing:", "  wrong_person:"),
        ),
    ],
    ids=[
        "sensitive_opening uses reported_on",
        "identity prompt uses crime_type",
        "identity keypad uses district",
        "safety prompt uses crime_type",
        "callback_time prompt uses reported_on",
        "closing unsafe uses crime_type",
        "closing wrong_person uses district",
    ],
)
def test_case_details_other_than_the_first_name_before_identity_and_safety_are_rejected(
    where: str, old: str, new: str, field: str, key_line: tuple[str, ...]
) -> None:
    text = edited(old, new)
    problems = problems_of(text)
    line = line_of(text, *key_line)
    assert {(p.line, p.where) for p in problems} == {(line, where)}
    assert all(f"'{{{field}}}'" in p.message for p in problems)
    assert any(NOT_BEFORE_CHECKS in p.message for p in problems)
    assert not any("first_name" in p.message for p in problems)


def test_first_name_may_be_said_at_the_safety_check() -> None:
    text = edited(
        "  prompt: Is it safe for you to talk now?",
        "  prompt: Is it safe for you to talk now, {first_name}?",
    )
    assert parse_questionnaire(text, FILE).questionnaire.safety is not None


# --- positive and non-substantive keys ---------------------------------------------------

SUPPORT_OFFERED = """\
  - id: support_offered
    type: choice
    prompt: Were you offered any support?
    options:
      - {key: 1, label: "yes", sentiment: satisfied}
      - {key: 2, label: "no", sentiment: dissatisfied}
    non_substantive:
      - {key: 9, answer: does_not_apply}

"""
#: uss.yaml with a choice question added before the referral rules.
WITH_CHOICE = edited("# The district hears", SUPPORT_OFFERED + "# The district hears")


def test_the_choice_question_added_for_these_checks_loads() -> None:
    q = parse_questionnaire(WITH_CHOICE, FILE).questionnaire
    assert [o.key for o in q.question("support_offered").options] == ["1", "2"]


@pytest.mark.parametrize(
    ("positive", "key"),
    [
        pytest.param("[1, 2, 9]", "9", id="9 is not a scale answer"),
        pytest.param("[1, 2, 8]", "8", id="8 is don't know, not counted"),
    ],
)
def test_scale_positive_naming_a_key_that_is_not_a_counted_answer_is_rejected(
    positive: str, key: str
) -> None:
    text = edited(EASE_OF_CONTACT_HEAD, EASE_OF_CONTACT_HEAD + f"    positive: {positive}\n")
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (
        line_of(text, "    positive:"),
        "question 'ease_of_contact'",
    )
    assert f"'{key}' is not one of the question's answers that count" in problem.message
    assert "keys: 1, 2, 3, 4, 5, 6, 7" in problem.message


@pytest.mark.parametrize(
    ("positive", "key"),
    [
        pytest.param("[1, 3]", "3", id="3 is not an option"),
        pytest.param("[1, 9]", "9", id="9 is does not apply, not counted"),
    ],
)
def test_choice_positive_naming_a_key_that_is_not_a_counted_answer_is_rejected(
    positive: str, key: str
) -> None:
    text = edited(
        "      - {key: 9, answer: does_not_apply}\n",
        f"      - {{key: 9, answer: does_not_apply}}\n    positive: {positive}\n",
        WITH_CHOICE,
    )
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (
        line_of(text, "    positive:"),
        "question 'support_offered'",
    )
    assert f"'{key}' is not one of the question's answers that count" in problem.message


def test_choice_positive_naming_its_own_options_loads() -> None:
    text = edited(
        "      - {key: 9, answer: does_not_apply}\n",
        "      - {key: 9, answer: does_not_apply}\n    positive: [1]\n",
        WITH_CHOICE,
    )
    assert parse_questionnaire(text, FILE).questionnaire.question("support_offered").positive == (
        "1",
    )


def test_non_substantive_key_clashing_with_a_choice_option_is_rejected() -> None:
    text = edited(
        "      - {key: 9, answer: does_not_apply}",
        "      - {key: 2, answer: does_not_apply}",
        WITH_CHOICE,
    )
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (
        line_of(text, "      - {key: 2, answer:"),
        "question 'support_offered'",
    )
    assert "key '2' is already an answer of this question" in problem.message


@pytest.mark.parametrize(
    ("head", "key", "question"),
    [
        pytest.param(
            EASE_OF_CONTACT_HEAD,
            "3",
            "ease_of_contact",
            id="scale7 don't know on 3, fairly satisfied",
        ),
        pytest.param(
            "  - id: police_contact\n    type: yes_no\n",
            "1",
            "police_contact",
            id="yes_no don't know on 1, yes",
        ),
    ],
)
def test_non_substantive_key_clashing_with_a_built_in_answer_is_rejected(
    head: str, key: str, question: str
) -> None:
    text = edited(head, head + f"    non_substantive:\n      - {{key: {key}, answer: dont_know}}\n")
    problems = problems_of(text)
    assert [(p.line, p.where) for p in problems] == [
        (line_of(text, f"      - {{key: {key}, answer:"), f"question '{question}'")
    ]
    assert f"key '{key}' is already an answer of this question" in problems[0].message


# --- the partial threshold ---------------------------------------------------------------


def test_partial_core_answers_above_the_number_of_core_questions_is_rejected() -> None:
    text = edited("partial_core_answers: 3", "partial_core_answers: 6")
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (
        line_of(text, "partial_core_answers:"),
        "partial_core_answers",
    )
    assert "6 is more than the 5 core questions" in problem.message


def test_partial_core_answers_equal_to_the_number_of_core_questions_loads() -> None:
    text = edited("partial_core_answers: 3", "partial_core_answers: 5")
    assert parse_questionnaire(text, FILE).questionnaire.partial_threshold == 5


# --- a survey that rings victims needs the safety check ----------------------------------

SAFETY_BLOCK = USS_TEXT[USS_TEXT.index("\nsafety:\n") : USS_TEXT.index("\nconvenience:\n")]
CAMPAIGN_BLOCK = USS_TEXT[USS_TEXT.index("\ncampaign:\n") : USS_TEXT.index("\n# A case is")]


def test_campaign_without_a_safety_step_is_rejected() -> None:
    assert "prompt: Is it safe for you to talk now?" in SAFETY_BLOCK
    text = edited(SAFETY_BLOCK, "")
    [problem] = problems_of(text)
    assert (problem.line, problem.where) == (line_of(text, "campaign:"), "campaign")
    assert "needs a 'safety:' step" in problem.message


def test_questionnaire_without_campaign_or_safety_step_loads() -> None:
    assert "eligibility:" in CAMPAIGN_BLOCK
    text = edited(CAMPAIGN_BLOCK, "", edited(SAFETY_BLOCK, ""))
    q = parse_questionnaire(text, FILE).questionnaire
    assert (q.campaign, q.safety) == (None, None)


# --- a pinned version is read without the newer checks -----------------------------------

PINNED_INTERVIEWER = edited(
    EASE_OF_CONTACT_HEAD,
    EASE_OF_CONTACT_HEAD + "    interviewer: How easy was it to get through to someone?\n",
)


def test_pinned_version_with_a_differing_interviewer_wording_is_still_read() -> None:
    with pytest.raises(QuestionnaireError):
        parse_questionnaire(PINNED_INTERVIEWER, FILE)
    loaded = parse_questionnaire(PINNED_INTERVIEWER, "<stored uss 2026.1>", checked=False)
    question = loaded.questionnaire.question("ease_of_contact")
    assert question.interviewer == "How easy was it to get through to someone?"
    assert loaded.source == PINNED_INTERVIEWER


def test_pinned_version_with_a_revealing_sensitive_opening_is_still_read() -> None:
    text = edited("from the customer contact team.", "from the police victim survey team.")
    with pytest.raises(QuestionnaireError):
        parse_questionnaire(text, FILE)
    q = parse_questionnaire(text, "<stored uss 2026.1>", checked=False).questionnaire
    assert q.sensitive_opening.endswith("from the police victim survey team.")


def test_pinned_version_is_still_checked_against_the_schema() -> None:
    text = edited(EASE_OF_CONTACT_HEAD, EASE_OF_CONTACT_HEAD + "    colour: red\n")
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "<stored uss 2026.1>", checked=False)
    [problem] = caught.value.problems
    assert problem.line == line_of(text, "    colour:")
    assert problem.message == "unknown key 'colour'"


def test_calling_settings_are_checked_on_load_with_file_and_line() -> None:
    source = USS_TEXT
    old = "    max_attempts: 6\n"
    assert source.count(old) == 1
    bad = source.replace(old, "    max_attempts: 0\n    retry_after: {voicemail: 3h, busy: soon}\n")
    with pytest.raises(QuestionnaireError) as refused:
        parse_questionnaire(bad, "uss.yaml")
    line = source[: source.index(old)].count("\n") + 1
    assert [str(p) for p in refused.value.problems] == [
        f"uss.yaml:{line}: campaign: 'max_attempts': must be at least 1, not 0",
        f"uss.yaml:{line + 1}: campaign: 'busy': 'soon' is not a duration such as 3h, 20m or 1d",
        f"uss.yaml:{line + 1}: campaign: 'voicemail': not an outcome",
    ]
