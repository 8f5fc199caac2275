"""Strict JSON for upstream documents (another Pulp's trees.json, a CoreOS stream).

A document whose meaning a parser could read two ways is refused: a key twice in one
object (which value counts?), NaN or Infinity, nesting deeper than Python recurses,
bytes that are not UTF-8. A low layer: nothing of the plugin.
"""

import functools
import gettext
import json

_ = functools.cache(gettext.gettext)


class NotJson(ValueError):
    """Bytes that are not one strict JSON object; the message says why."""


def _refuse_constant(name):
    raise ValueError(_("{name} is not a JSON number").format(name=name))


def _unique_keys(pairs):
    """An object whose keys are unique (two values for one key: which one counts?)."""
    found = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(_("key {key!r} appears twice in an object").format(key=key))
        found[key] = value
    return found


def load_object(raw):
    """The JSON object of ``raw`` (bytes), or NotJson."""
    try:
        document = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise NotJson(_("not valid JSON: {problem}").format(problem=exc)) from None
    if not isinstance(document, dict):
        raise NotJson(_("not a JSON object"))
    return document
