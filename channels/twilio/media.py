"""Download an MMS media file with the account's credentials, only from the configured API host.

The media URL comes from the message webhook, so it is checked first (`media_url_allowed`:
no SSRF with our credentials). Twilio answers a media URL with a redirect to its CDN; redirects
are followed by hand: with the credentials only while they stay on the API's origin, without
them anywhere else, and a few at most. Blocking, for the worker's job.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import urllib.response
from http.client import HTTPResponse

from channels.outbound import Deferred, Failed
from channels.twilio.outbound import TIMEOUT, basic_auth
from channels.twilio.sms import DEFAULT_MEDIA_TYPE, media_url_allowed
from channels.twilio_settings import TwilioSettings

MAX_BYTES = 5 * 1024 * 1024  # Twilio's own limit for one MMS media file
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})
Response = HTTPResponse | urllib.response.addinfourl  # an HTTPError is an addinfourl


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would carry the Authorization header to wherever a redirect points."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def download(
    settings: TwilioSettings, url: str, *, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT
) -> tuple[bytes, str]:
    """The media's bytes and content type; `Failed` for a URL off the API's host."""
    if not media_url_allowed(url, settings.api_base):
        raise Failed(f"Media URL {url!r} is not on {settings.api_base}.")
    for _ in range(MAX_REDIRECTS + 1):
        credentials = media_url_allowed(url, settings.api_base)
        headers = {"Authorization": basic_auth(settings)} if credentials else {}
        response = _open(urllib.request.Request(url, headers=headers), timeout)
        if response.status not in REDIRECTS:
            with response:
                return _read(response, max_bytes)
        url = _location(response, url)
    raise Failed(f"More than {MAX_REDIRECTS} redirects for a media file.")


def _open(request: urllib.request.Request, timeout: float) -> Response:
    try:
        response: HTTPResponse = _OPENER.open(request, timeout=timeout)
        return response
    except urllib.error.HTTPError as error:
        if error.code in REDIRECTS:
            return error  # the redirect answer itself: its Location is read by hand
        kind = Deferred if error.code == 429 or error.code >= 500 else Failed
        raise kind(f"Media download answered {error.code}.") from None
    except (OSError, ValueError) as error:
        raise Deferred(f"Media host unreachable: {type(error).__name__}") from None


def _location(response: Response, base: str) -> str:
    with response:
        location = response.headers.get("Location", "")
    target = urllib.parse.urljoin(base, location)
    if not location or urllib.parse.urlsplit(target).scheme not in ("http", "https"):
        raise Failed("A media redirect without an http(s) Location.")
    return target


def _read(response: Response, max_bytes: int) -> tuple[bytes, str]:
    data = response.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Failed(f"A media file larger than {max_bytes} bytes.")
    kind = response.headers.get_content_type() if response.headers.get("Content-Type") else ""
    return data, kind or DEFAULT_MEDIA_TYPE
