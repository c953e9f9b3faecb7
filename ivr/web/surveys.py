"""Surveys as staff read them: by title ("Victim satisfaction survey"), not by id (``uss``)."""

from __future__ import annotations

from flask import Flask

from ivr.services import current_services


def survey_title(survey: str | None) -> str:
    """The title of the survey's current questionnaire; the id for one no longer loaded."""
    if not survey:
        return ""
    try:
        loaded = current_services().questionnaires.current(survey)
    except KeyError:
        return survey
    return loaded.questionnaire.title


def init_app(app: Flask) -> None:
    """Make ``survey_title`` a template filter."""
    app.add_template_filter(survey_title, "survey_title")
