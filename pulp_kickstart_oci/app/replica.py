"""Replication: a downstream Pulp copies an upstream Pulp's kickstart distributions.

pulpcore loads ``REPLICATION_ORDER``; ``POST /upstream-pulps/<id>/replicate/`` then lists
the upstream's kickstart distributions and, for each one serving something, creates or
updates here a ``KickstartPulpRemote`` (its ``base_url``), a repository and a distribution
of the same name, and syncs the repository from the remote (sources/pulp.py: trees.json,
every file checked against the sha256 and size it publishes). pulpcore then points each
distribution at its repository's latest version. See docs/disconnected.md, "Replication".

The distribution keeps the upstream's base path and the settings that shape boot configs
(``KickstartDistribution.BOOT_FIELDS``: kernel arguments, kickstart, CoreOS and bootc
settings), so it serves the same trees with the same boot configs; ``boot_origin`` is
not copied: where machines reach this Pulp is this Pulp's to say (a replica's boot
configs name its own origin).

pulpcore lists the upstream's distributions with a pulp-glue context class. The plugin
defines the one it needs here, on ``pulp_glue.common`` (which pulpcore itself requires),
instead of importing the CLI package's (``cli/pulp_glue/kickstart``): that package ships
with pulp-cli-kickstart, which the server does not depend on (setup.py installs
requirements.txt only), and the listing needs nothing but the distribution endpoint's
href key and operation ids, which are this plugin's own API.
"""

from gettext import gettext as _
from urllib.parse import urljoin

from pulp_glue.common.context import PluginRequirement, PulpDistributionContext
from rest_framework.exceptions import ValidationError

from pulpcore.plugin.replica import Replicator

from .models import KickstartDistribution, KickstartPulpRemote, KickstartRepository
from .serializers import distribution_url
from .tasks import synchronize


class ReplicationError(Exception):
    """An upstream distribution this Pulp does not replicate; the message names it."""


class UpstreamKickstartDistributions(PulpDistributionContext):
    """The upstream Pulp's kickstart distributions, as pulp-glue lists them."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "kickstart"
    ENTITY = _("kickstart distribution")
    ENTITIES = _("kickstart distributions")
    HREF = "kickstart_kickstart_distribution_href"
    ID_PREFIX = "distributions_kickstart_kickstart"
    NEEDS_PLUGINS = [PluginRequirement("kickstart")]


class KickstartReplicator(Replicator):
    """A Pulp remote, a repository and a distribution per upstream kickstart distribution."""

    distribution_ctx_cls = UpstreamKickstartDistributions
    app_label = "kickstart"
    remote_model_cls = KickstartPulpRemote
    repository_model_cls = KickstartRepository
    distribution_model_cls = KickstartDistribution
    distribution_serializer_name = "KickstartDistributionSerializer"
    repository_serializer_name = "KickstartRepositorySerializer"
    remote_serializer_name = "KickstartPulpRemoteSerializer"
    sync_task = synchronize

    def url(self, upstream_distribution):
        """The distribution's base URL, checked as the Pulp remote's API checks a ``url``.

        The upstream's API says it: a relative one (an upstream without CONTENT_ORIGIN) is
        joined to the upstream's base URL here.
        """
        base_url = upstream_distribution.get("base_url") or ""
        if base_url.startswith("/"):
            base_url = urljoin(self.server.base_url, base_url)
        try:
            return distribution_url(base_url)
        except ValidationError as exc:
            raise ReplicationError(
                _("Upstream distribution {name!r}: base_url {url!r}: {problem}").format(
                    name=upstream_distribution.get("name"),
                    url=base_url,
                    problem=" ".join(str(detail) for detail in exc.detail),
                )
            ) from None

    def distribution_extra_fields(self, repository, upstream_distribution):
        """The base path and what shapes boot configs; never ``boot_origin`` (this Pulp's)."""
        fields = super().distribution_extra_fields(repository, upstream_distribution)
        # Every field that shapes boot configs (an upstream older than one leaves it as is).
        for name in KickstartDistribution.BOOT_FIELDS:
            if name != "boot_origin" and name in upstream_distribution:
                fields[name] = upstream_distribution[name]
        fields["kernel_args"] = fields.get("kernel_args") or ""
        return fields

    def sync_params(self, repository, remote):
        """A mirror sync: the replica holds what the upstream serves, and nothing else."""
        return {
            "remote_pk": str(remote.pk),
            "repository_pk": str(repository.pk),
            "mirror": True,
        }


REPLICATION_ORDER = [KickstartReplicator]
