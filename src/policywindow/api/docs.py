"""Interactive API docs served entirely from our own static files (no CDN).

django-ninja falls back to CDN-hosted Swagger UI unless ``ninja`` is an installed
app; this page never does. It loads the Swagger UI that ships inside the
django-ninja package (``ninja/static/ninja/``), found by ``django.contrib.staticfiles``
once ``"ninja"`` is in ``INSTALLED_APPS``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger


class SelfHostedSwagger(Swagger):
    template = "api/swagger.html"
    # Swagger UI would otherwise fetch a badge from validator.swagger.io: outside the intranet,
    # and refused by the Content-Security-Policy (img-src 'self').
    default_settings = {**Swagger.default_settings, "validatorUrl": None}

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        swagger_settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {
            "api": api,
            "swagger_settings": json.dumps(swagger_settings, ensure_ascii=False),
        }
        return render(request, self.template, context)
