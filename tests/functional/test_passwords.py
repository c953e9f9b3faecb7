"""Staff passwords: long and hard to guess, changed by their owner in the browser, reset
and re-enabled by an administrator at the command line; every change ends every session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.accounts.passwords import password_problem
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from tests.conftest import make_settings
from tests.functional.staff_web import PASSWORD, csrf, sign_in
from tests.functional.test_users_cli import actions, add, run

EMAIL = "sam.jones@force.example"
NEW = "lantern orchard quietly"


@pytest.fixture
def app(any_db: str) -> Iterator[Flask]:
    app = create_app(make_settings(any_db), queue=InProcessQueue())
    assert add(app, EMAIL, "--role", "supervisor").exit_code == 0
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "very common password"),
        ("qwertyuiop12", "choose a harder password"),
        ("sam.jones@force.example", "choose a harder password"),  # the account's own email
        ("short", "at least 12 characters"),
    ],
)
def test_a_guessable_password_is_refused_with_the_reason(password: str, why: str) -> None:
    problem = password_problem(password, [EMAIL, "Sam Jones"])
    assert problem is not None and why in problem


def test_a_long_uncommon_password_is_accepted() -> None:
    assert password_problem(PASSWORD, [EMAIL]) is None
    assert password_problem(NEW, [EMAIL]) is None


def test_an_account_is_never_made_with_a_guessable_password(app: Flask) -> None:
    result = add(app, "ali@force.example", "--role", "analyst", password="password1234")
    assert result.exit_code == 1
    assert "very common password" in result.output


def change(
    client: FlaskClient, current: str, new: str, again: str | None = None
) -> tuple[int, str]:
    token = csrf(client.get("/account/password").get_data(as_text=True))
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
    )
    return response.status_code, response.get_data(as_text=True)


def test_the_owner_changes_their_password_and_every_session_ends(app: Flask) -> None:
    client, other = sign_in(app, EMAIL), sign_in(app, EMAIL)
    assert change(client, "not my password at all", NEW)[1].count(
        "That is not your current password"
    )
    assert "very common password" in change(client, PASSWORD, "password1234")[1]
    assert "are not the same" in change(client, PASSWORD, NEW, NEW + "x")[1]
    status, _ = change(client, PASSWORD, NEW)
    assert status == 302
    # This browser and the other one are both signed out; the new password works.
    for browser in (client, other):
        assert browser.get("/queue").status_code == 302
    sign_in(app, EMAIL, NEW)
    with pytest.raises(AssertionError):
        sign_in(app, EMAIL, PASSWORD)
    done = [action for action, _ in actions(app)]
    assert "change_password_refused" in done and "change_password" in done


def test_an_administrator_resets_a_password_and_re_enables_an_account(app: Flask) -> None:
    browser = sign_in(app, EMAIL)
    weak = run(app, "users", "password", EMAIL, "--password-stdin", input="password1234\n")
    assert weak.exit_code == 1 and "very common password" in weak.output
    reset = run(app, "users", "password", EMAIL, "--password-stdin", input=NEW + "\n")
    assert reset.exit_code == 0, reset.output
    assert browser.get("/queue").status_code == 302  # signed out by the reset
    assert run(app, "users", "disable", EMAIL).exit_code == 0
    with pytest.raises(AssertionError):
        sign_in(app, EMAIL, NEW)
    enabled = run(app, "users", "enable", EMAIL)
    assert enabled.exit_code == 0 and f"enabled {EMAIL}" in enabled.output
    sign_in(app, EMAIL, NEW)
    unknown = run(app, "users", "enable", "nobody@force.example")
    assert unknown.exit_code == 1 and "no account" in unknown.output
    done = [action for action, _ in actions(app)]
    assert "reset_password" in done and "enable_user" in done
