"""Unit tests load Django (pulpcore's settings, no database): plugin code reads its settings."""

import os

import django


def pytest_configure(config):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pulpcore.app.settings")
    django.setup()
