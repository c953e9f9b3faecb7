"""Signing staff in to the web pages as a browser would: through the form, with its token."""

from __future__ import annotations

import itertools
import re

from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "correct horse battery staple"
# Each client signs in from its own address, so the sign-in rate limit is not what a test
# exercises by accident.
_addresses = itertools.count(1)


def csrf(page: str) -> str:
    """The CSRF token from a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has a CSRF token"
    return found.group(1)


def sign_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """A test client signed in through the sign-in form."""
    client = app.test_client()
    n = next(_addresses)
    client.environ_base["REMOTE_ADDR"] = f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
