"""A questionnaire's translations: loaded as whole questionnaires, every text checked.

Variants are made by editing the text of the shipped questionnaires; each edit must match
exactly once, so a change to a shipped file fails here loudly rather than testing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import engine
from ivr.engine import Digits
from ivr.questionnaire.loader import QuestionnaireError, load_file, parse_questionnaire
from ivr.questionnaire.options import options_in
from ivr.questionnaire.schema import Messages

ROOT = Path(__file__).resolve().parents[2]
USS_TEXT = (ROOT / "questionnaires" / "uss.yaml").read_text(encoding="utf-8")
VCAS_TEXT = (ROOT / "questionnaires" / "vcas_exit.yaml").read_text(encoding="utf-8")
CASE = {
    "first_name": "Alex",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": "2026-09-14",
}


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


def problems_of(text: str) -> list[str]:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(text, "uss.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(text: str, *starts: str) -> int:
    """The line of the first line starting with ``starts[-1]`` after each earlier one."""
    lines = text.splitlines()
    at = 0
    for start in starts:
        at = next(i for i in range(at, len(lines)) if lines[i].startswith(start))
    return at + 1


@pytest.mark.parametrize("name", ["uss.yaml", "vcas_exit.yaml"])
def test_shipped_questionnaires_load_with_welsh(name: str) -> None:
    q = load_file(ROOT / "questionnaires" / name).questionnaire
    assert q.languages == ("en-GB", "cy-GB")
    welsh = q.in_language("cy-GB")
    assert welsh.language == "cy-GB" and welsh.voice == "Polly.Gwyneth"
    assert welsh.review and "Welsh speaker" in welsh.review
    # The same questions, keys and sentiments; Welsh words.
    assert [x.id for x in welsh.questions] == [x.id for x in q.questions]
    for english, cymraeg in zip(q.questions, welsh.questions, strict=True):
        assert english.prompt != cymraeg.prompt
        pairs = zip(options_in(q, english), options_in(welsh, cymraeg), strict=True)
        for ours, theirs in pairs:
            assert (ours.key, ours.sentiment, ours.not_counted) == (
                theirs.key,
                theirs.sentiment,
                theirs.not_counted,
            )
            assert ours.label != theirs.label
    # Each language knows the other, to offer it at the opening.
    assert welsh.in_language("en-GB") is q
    assert welsh.offer == "I siarad Cymraeg, pwyswch 9." and q.offer == "For English, press 9."


def test_the_third_survey_has_no_translation() -> None:
    assert load_file(ROOT / "questionnaires" / "lpcs.yaml").questionnaire.languages == ("en-GB",)


def test_a_missing_question_prompt_is_a_problem_at_its_question() -> None:
    text = edited(
        USS_TEXT,
        """      kept_informed:
        prompt: >-
          A oeddech chi'n fodlon, yn anfodlon neu'r naill na'r llall â pha mor dda y cawsoch
          wybod am y cynnydd?
""",
        """      kept_informed: {}
""",
    )
    line = line_of(text, "translations:", "      kept_informed:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.questions.kept_informed.prompt: missing translation"
    ]


def test_a_question_left_out_altogether_is_a_problem_at_the_questions() -> None:
    text = edited(
        USS_TEXT,
        """      police_contact:
        prompt: A oes unrhyw beth arall yr hoffech i'r heddlu gysylltu â chi yn ei gylch?
        instructions: Mae ateb "ie" yn codi rhybudd gweithredu i'r ardal.
""",
        "",
    )
    line = line_of(text, "translations:", "    questions:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.questions.police_contact.prompt: missing translation",
        f"uss.yaml:{line}: translations.cy-GB.questions.police_contact.instructions: "
        "missing translation",
    ]


def test_a_missing_option_label_is_a_problem() -> None:
    text = edited(
        VCAS_TEXT, """options: {1: "byddwn", 2: "na fyddwn"}""", """options: {1: "byddwn"}"""
    )
    line = line_of(text, "translations:", "      recommend:", "        options:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.questions.recommend.options.2: missing translation"
    ]


def test_a_missing_built_in_answer_label_is_a_problem() -> None:
    text = edited(USS_TEXT, "        7: cwbl anfodlon\n", "")
    line = line_of(text, "translations:", "      scale7:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.choices.scale7.7: missing translation"
    ]


def test_a_message_left_at_its_default_must_still_be_translated() -> None:
    assert "moving_on" in Messages.model_fields
    assert "moving_on:" not in USS_TEXT.split("translations:")[0]  # English by default
    text = edited(USS_TEXT, "      moving_on: Awn ymlaen.\n", "")
    line = line_of(text, "translations:", "    messages:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.messages.moving_on: missing translation"
    ]


def test_a_missing_closing_is_a_problem() -> None:
    text = edited(USS_TEXT, "      wrong_person: Mae'n ddrwg gennym eich poeni. Hwyl fawr.\n", "")
    line = line_of(text, "translations:", "    closing:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.closing.wrong_person: missing translation"
    ]


def test_an_unknown_question_id_is_a_problem() -> None:
    text = edited(
        USS_TEXT,
        "      police_contact:\n        prompt: A oes",
        "      no_such_question:\n        prompt: Beth?\n"
        "      police_contact:\n        prompt: A oes",
    )
    line = line_of(text, "translations:", "      no_such_question:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.questions.no_such_question: "
        "unknown question 'no_such_question'"
    ]


def test_an_unknown_key_in_a_translation_is_a_problem() -> None:
    text = edited(USS_TEXT, "    name: Cymraeg\n", "    name: Cymraeg\n    colour: coch\n")
    line = line_of(text, "translations:", "    colour:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.colour: unknown key 'colour'"
    ]


def test_placeholders_must_match_the_base_text() -> None:
    text = edited(
        USS_TEXT,
        "        prompt: Ai {first_name} sy'n siarad?",
        "        prompt: Ai chi sy'n siarad?",
    )
    line = line_of(text, "translations:", "      identity:", "        prompt:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.steps.identity.prompt: placeholders differ "
        "from the base text's (which has {first_name})"
    ]


def test_a_neutral_welsh_text_may_not_name_the_police() -> None:
    text = edited(
        USS_TEXT,
        "    sensitive_opening: Helo, galwad awtomatig yw hon gan y tîm cyswllt cwsmeriaid.",
        "    sensitive_opening: Helo, galwad awtomatig yw hon gan yr heddlu.",
    )
    line = line_of(text, "translations:", "    sensitive_opening:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.sensitive_opening: says 'heddlu', which a "
        "sensitive case's call must not say before identity and safety are confirmed"
    ]


@pytest.mark.parametrize(
    ("welsh", "word"),
    [
        ("Mae'n ddrwg gennym am y drosedd. Hwyl fawr.", "drosedd"),
        ("Diolch, ddioddefwr. Hwyl fawr.", "ddioddefwr"),
        ("Diolch am yr arolwg. Hwyl fawr.", "arolwg"),
        ("Sori am y cam-drin. Hwyl fawr.", "cam-drin"),
    ],
)
def test_welsh_words_that_reveal_the_call_are_caught_in_mutated_forms(
    welsh: str, word: str
) -> None:
    text = edited(
        USS_TEXT,
        "      wrong_person: Mae'n ddrwg gennym eich poeni. Hwyl fawr.",
        f"      wrong_person: {welsh}",
    )
    assert any(f"says '{word}'" in p for p in problems_of(text))


def test_the_offer_key_may_not_answer_the_step_it_is_heard_at() -> None:
    text = edited(USS_TEXT, "    key: 9\n", "    key: 2\n")
    line = line_of(text, "translations:", "    key:")
    assert problems_of(text) == [
        f"uss.yaml:{line}: translations.cy-GB.key: key 2 is an answer to the identity step "
        "the offer is heard at"
    ]


def test_translations_need_the_base_languages_own_offer() -> None:
    text = edited(USS_TEXT, "offer: For English, press 9.\n", "")
    # Said where the questionnaire begins: there is no line of its own to point at.
    assert problems_of(text) == [
        f"uss.yaml:{line_of(text, 'id:')}: offer: missing: with translations, 'offer:' says "
        "(in this language) how to switch to it, e.g. 'For English, press 9.'"
    ]


def test_a_welsh_call_speaks_welsh_dates_and_case_words() -> None:
    welsh = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire.in_language("cy-GB")
    opening = engine.start(welsh, CASE)
    assert opening.state.language == "cy-GB" and opening.voice == "Polly.Gwyneth"
    consent = engine.step(welsh, opening.state, Digits("1"))
    assert "am fyrgleriaeth ar ddydd Llun 14 Medi 2026" in consent.prompts[0]
    # English is offered back, in its own voice.
    assert [(o.text, o.language) for o in opening.offers] == [("For English, press 9.", "en-GB")]
