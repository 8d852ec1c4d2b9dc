"""Content-Security-Policy on every response (等保 L3: no inline script, nothing from elsewhere).

Every page loads only the product's own files: scripts and styles from ``/static/`` (vendor
assets are self-hosted from npm), no inline ``<script>``, no event-handler attributes, no
``style=`` attributes, no ``eval`` (Alpine runs as its CSP build, htmx with ``allowEval`` off).
An injected ``<script>`` or ``onerror=`` therefore does not run even if an escaping bug lets
markup through.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

# The policy of every document the product serves; frame-ancestors is added per response.
PAGE_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    # Style *attributes* and <style> blocks are refused too; scripts that size elements
    # (ECharts, progress bars) set element.style through the CSSOM, which CSP allows.
    "style-src 'self'",
    "img-src 'self' data:",  # Bootstrap's CSS draws its icons as data: SVG
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)


def frame_ancestors(response: HttpResponse) -> str:
    """Who may frame the response: nobody, unless the view allowed same-origin framing.

    Views that are meant to be framed (the PDF previews) say so with Django's
    ``xframe_options_sameorigin``; the CSP directive follows the same decision so the two
    headers never disagree.
    """
    same_origin = response.get("X-Frame-Options", "").upper() == "SAMEORIGIN"
    return "frame-ancestors 'self'" if same_origin else "frame-ancestors 'none'"


def policy_for(response: HttpResponse) -> str:
    """The header value for one response.

    A PDF is not an HTML document: script-src and style-src have nothing to govern in it, and
    Chromium-based browsers before the out-of-process PDF viewer draw it inside a synthetic
    page whose inline styles and plugin a document policy would block (blank preview). It
    keeps the framing rule only.
    """
    content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/pdf":
        return frame_ancestors(response)
    return "; ".join((*PAGE_DIRECTIVES, frame_ancestors(response)))


class ContentSecurityPolicyMiddleware:
    """Set the policy on every response, including errors and other middleware's answers.

    First in MIDDLEWARE, so it sees what every later middleware (and Django's conversion of an
    exception into a 500 page) returns, after XFrameOptionsMiddleware has decided on framing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view that chose a stricter policy for its response (an image preview) keeps it.
        if HEADER not in response:
            response[HEADER] = policy_for(response)
        return response
