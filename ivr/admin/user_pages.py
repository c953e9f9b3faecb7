"""The staff-account forms of the administrator's pages: add an account, change its role
and districts, record its own phone. Thin: read the form, call :mod:`ivr.admin.accounts`,
and on a refusal show the page again with each problem beside its field and everything
typed kept (but passwords)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ivr.accounts.staff import Role
from ivr.admin import accounts
from ivr.services import current_services

#: The order the add form's fields come in, for the error summary's order.
ADD_FIELDS = ("email", "name", "role", "districts", "phone", "password")
#: What each change of a phone says once it is done.
PHONE_DONE = {
    "recorded": "The phone number is recorded: the console rings it first for their calls.",
    "changed": "The phone number is changed.",
    "removed": "The phone number is removed: this account's calls are dialled by hand.",
    "unchanged": "The phone number was already that: nothing changed.",
}


def _me() -> Any:
    # The account as a plain object, read before the domain opens any transaction.
    return current_user._get_current_object()


def _form_text(name: str, limit: int = 1000) -> str:
    # No NUL byte is stored anywhere (PostgreSQL refuses one in any text it is sent).
    return request.form.get(name, "").replace("\x00", "")[:limit]


def _new_account() -> accounts.NewAccount:
    return accounts.NewAccount(
        email=_form_text("email").strip(),
        name=_form_text("name"),
        role=_form_text("role").strip(),
        districts=[d.replace("\x00", "") for d in request.form.getlist("districts")][:200],
        districts_typed=_form_text("districts_typed"),
        phone=_form_text("phone"),
        password=request.form.get("password", ""),
        password_again=request.form.get("password_again", ""),
        generate_password=request.form.get("password_choice") == "generate",
    )


def _add_form(
    form: accounts.NewAccount, problems: dict[str, str] | None = None, status: int = 200
) -> Any:
    problems = problems or {}
    errors = [(name, problems[name]) for name in ADD_FIELDS if name in problems]
    # The summary's links go to the first control of each field.
    anchors = {"role": "role", "districts": "districts_typed", "password": "password"}
    return render_template(
        "admin/users_new.html",
        form=form,
        problems=problems,
        errors=[(anchors.get(name, name), text) for name, text in errors],
        roles={role.value: role.label for role in Role},
        districts=sorted(
            set(accounts.sample_districts(current_services().db)) | set(form.districts)
        ),
    ), status


def add_page() -> Any:
    """The add form (GET), or the account added from it (POST)."""
    if request.method == "GET":
        return _add_form(accounts.NewAccount(role=Role.INTERVIEWER.value))
    svc = current_services()
    form = _new_account()
    try:
        added = accounts.add_account(svc.db, _me(), form, svc.clock())
    except accounts.FormProblems as refused:
        # The passwords are never sent back to the browser.
        form.password = form.password_again = ""
        return _add_form(form, refused.problems, status=400)
    if added.generated_password is None:
        flash(f"The account {added.email} is added.", "success")
        return redirect(url_for("admin.users") + f"#account-{added.id}")
    # Shown once, on this page only: never in the session cookie, never cached.
    response = make_response(render_template("admin/users_added.html", added=added))
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(users_page: Callable[..., Any], user_id: int, refused: accounts.FormProblems) -> Any:
    field, text = next(iter(refused.problems.items()))
    typed = {name: request.form.getlist(name) for name in request.form if name != "csrf_token"}
    return users_page(error_for=user_id, error=text, field=field, typed=typed, status=400)


def change_role(user_id: int, users_page: Callable[..., Any]) -> Any:
    """Change an account's role and districts from its row of the list."""
    svc = current_services()
    districts, problem = accounts.districts_from(
        request.form.getlist("districts"), _form_text("districts_typed")
    )
    try:
        if problem:
            raise accounts.FormProblems({"districts": problem})
        changed = accounts.change_role(
            svc.db, _me(), user_id, _form_text("role").strip(), districts, svc.clock()
        )
    except accounts.NoSuchAccount:
        abort(404)
    except accounts.FormProblems as refused:
        return _refused(users_page, user_id, refused)
    flash(
        "The role is changed: it applies from the account's next page."
        if changed
        else "The role and districts were already those: nothing changed.",
        "success",
    )
    return redirect(url_for("admin.users") + f"#account-{user_id}")


def set_phone(user_id: int, users_page: Callable[..., Any]) -> Any:
    """Record, change or (with ``remove``) remove an account's own phone."""
    svc = current_services()
    typed = None if request.form.get("remove") else _form_text("phone")
    if typed is not None and not typed.strip():
        refused = accounts.FormProblems(
            {"phone": "Enter a phone number, or choose Remove the phone number."}
        )
        return _refused(users_page, user_id, refused)
    try:
        done = accounts.set_phone(svc.db, _me(), user_id, typed, svc.clock())
    except accounts.NoSuchAccount:
        abort(404)
    except accounts.FormProblems as refused:
        return _refused(users_page, user_id, refused)
    # Flashed messages live in the session cookie: no number in them.
    flash(PHONE_DONE[done], "success")
    return redirect(url_for("admin.users") + f"#account-{user_id}")
