"""Loaded by pulpcore-content at start: lets generated boot files see the client's request."""

from pulpcore.plugin.content import app

from .serving import remember_request

app.middlewares.append(remember_request)
