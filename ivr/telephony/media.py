"""Where Twilio keeps recordings: the only hosts a recorded answer's address may be on."""

from __future__ import annotations

from urllib.parse import urlsplit

#: Twilio's REST API, which serves recordings.
TWILIO_MEDIA_HOST = "api.twilio.com"


def media_hosts(twilio_api_base_url: str | None) -> frozenset[str]:
    """The hosts a recording may be on: Twilio's, and the configured Twilio-compatible API."""
    hosts = {TWILIO_MEDIA_HOST}
    if twilio_api_base_url:
        configured = urlsplit(twilio_api_base_url).hostname
        if configured:
            hosts.add(configured)
    return frozenset(hosts)


def on_media_host(url: str, hosts: frozenset[str]) -> bool:
    """Whether ``url`` is an http(s) address on one of ``hosts`` (no user name, no port
    tricks: the host is the parsed one)."""
    if any(c in url for c in "\\ \t\r\n\x00"):
        return False  # read differently by browsers and by urlsplit
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or parts.username or parts.password:
        return False
    if parts.scheme == "http" and host == TWILIO_MEDIA_HOST:
        return False
    return host in hosts
