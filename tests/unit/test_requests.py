"""The app's URL-encoded form parsing gives exactly what werkzeug's parser gives."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import Request as FlaskRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from ivr.web.requests import Request

BODIES = [
    b"CallSid=CA123&Digits=1&From=%2B441134960001&To=%2B441134960999",
    b"SpeechResult=very+satisfied&Confidence=0.93&Empty=&Flag",
    b"Digits=1&Digits=2&Digits=%2A",  # a repeated name keeps every value
    b"Bad=%FF%FE&Good=caf%C3%A9",  # invalid UTF-8 is kept quoted
    b"",
]


def _requests(body: bytes, content_type: str) -> tuple[FlaskRequest, ...]:
    app = Flask(__name__)
    out = []
    for cls in (Request, FlaskRequest):
        environ = EnvironBuilder(method="POST", data=body, content_type=content_type).get_environ()
        with app.request_context(environ):
            out.append(cls(environ))
    return tuple(out)


@pytest.mark.parametrize("body", BODIES)
def test_urlencoded_forms_parse_as_werkzeug_parses_them(body: bytes) -> None:
    ours, theirs = _requests(body, "application/x-www-form-urlencoded")
    assert list(ours.form.items(multi=True)) == list(theirs.form.items(multi=True))
    assert type(ours.form) is type(theirs.form)
    assert not ours.files


def test_a_body_over_the_limit_is_refused_as_werkzeug_refuses_it() -> None:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 10
    environ = EnvironBuilder(
        method="POST",
        data=b"Digits=1&Padding=" + b"x" * 100,
        content_type="application/x-www-form-urlencoded",
    ).get_environ()
    with app.request_context(environ), pytest.raises(RequestEntityTooLarge):
        _ = Request(environ).form


def test_other_content_types_go_through_werkzeug() -> None:
    environ = EnvironBuilder(
        method="POST", data={"name": "value"}, content_type="multipart/form-data"
    ).get_environ()
    assert environ["CONTENT_TYPE"].startswith("multipart/form-data")
    app = Flask(__name__)
    with app.request_context(environ):
        assert Request(environ).form["name"] == "value"
