"""The object-level matrix's world: built once per module inside a transaction rolled back at
the end, with its files in one scratch directory for the whole module."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import override_settings

from tests.authz.world import World, build
from tests.conftest import empty_caches


@pytest.fixture(scope="module")
def _media(tmp_path_factory):
    return tmp_path_factory.mktemp("authz-media")


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_directory(settings, _media):
    # Overrides the root conftest's fixture: every test sees the world's files.
    settings.MEDIA_ROOT = _media


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, _media, tmp_path_factory) -> World:
    signing = tmp_path_factory.mktemp("authz-signing")
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=_media,
            POLICYWINDOW_SIGNING_DIR=signing,
            POLICYWINDOW_SIGNING_PKCS12="",
            POLICYWINDOW_SIGNING_TRUSTED_CERTS=[],
        ),
        transaction.atomic(),
    ):
        empty_caches()
        yield build()
        transaction.set_rollback(True)
