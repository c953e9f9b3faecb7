"""Signing in and out (being written)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Set up sign-in, CSRF, rate limits and security headers on ``app``."""
