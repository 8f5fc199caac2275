"""Sources: where trees come from. One module per upstream kind, one first stage each.

Every module of this package is imported here, so a source registers itself
by subclassing ``base.TreeFirstStage`` with its ``remote_type``; adding a
source needs no change to the sync task, the pipeline or the serving code
(see docs/architecture.md, "Adding a source").
"""

import importlib
import pkgutil

from .base import TreeFirstStage, TreePlan, UpstreamError, digest_of_sources, first_stage_for

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["TreeFirstStage", "TreePlan", "UpstreamError", "digest_of_sources", "first_stage_for"]
