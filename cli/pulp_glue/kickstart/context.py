"""API contexts for kickstart trees, remotes, repositories and distributions.

Each context names the REST resource (its href key and operation-id prefix in
the OpenAPI schema); pulp-glue derives list/show/create/update/delete from it.
"""

import typing as t

from pulp_glue.common.context import (
    EntityDefinition,
    PluginRequirement,
    PulpContentContext,
    PulpDistributionContext,
    PulpEntityContext,
    PulpRemoteContext,
    PulpRepositoryContext,
    PulpRepositoryVersionContext,
)
from pulp_glue.common.exceptions import PulpException
from pulp_glue.common.i18n import get_translation
from pulp_glue.core.context import PulpUploadContext

translation = get_translation(__package__)
_ = translation.gettext

NEEDS = [PluginRequirement("kickstart")]


class PulpKickstartTreeContext(PulpContentContext):
    """Kickstart trees: one release and architecture each, synced or uploaded."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "tree"
    ENTITY = _("kickstart tree")
    ENTITIES = _("kickstart trees")
    HREF = "kickstart_kickstart_tree_href"
    ID_PREFIX = "content_kickstart_trees"
    NEEDS_PLUGINS = NEEDS
    UPLOAD_CHUNK_SIZE = 1_000_000  # pulp-glue's own default for a chunked upload

    def upload_tree(
        self,
        version: str,
        arch: str,
        files: t.Sequence[tuple[str, t.IO[bytes]]],
        chunk_size: int | None = None,
        repository: PulpRepositoryContext | None = None,
        family: str | None = None,
    ) -> t.Any:
        """Create a tree of local files, each ``(path in the tree, open file)``.

        Every file goes through pulpcore's chunked uploads (``/uploads/``, the way
        pulp-glue uploads content), which any user who may create uploads can use; the
        server's task turns each upload into an artifact and deletes it. Uploads the server
        did not take (a refused request, a failed task) are deleted here.
        """
        size = chunk_size or self.pulp_ctx.chunk_size or self.UPLOAD_CHUNK_SIZE
        uploaded: list[dict[str, str]] = []
        try:
            for path, file in files:
                upload_href = PulpUploadContext(self.pulp_ctx).upload_file(file, size)
                uploaded.append({"path": path, "upload": upload_href})
            body: dict[str, t.Any] = {"version": version, "arch": arch, "files": uploaded}
            if repository is not None:
                body["repository"] = repository
            if family is not None:
                body["family"] = family
            return self.create(body=body)
        except Exception:
            for entry in uploaded:
                try:
                    PulpUploadContext(self.pulp_ctx, pulp_href=entry["upload"]).delete()
                except PulpException:
                    pass  # taken by the task already
            raise


class PulpKickstartTagContext(PulpContentContext):
    """Kickstart tags: upstream tags and the trees they named (read-only content)."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "tag"
    ENTITY = _("kickstart tag")
    ENTITIES = _("kickstart tags")
    HREF = "kickstart_kickstart_tag_href"
    ID_PREFIX = "content_kickstart_tags"
    NEEDS_PLUGINS = NEEDS


class PulpKickstartSignatureContext(PulpContentContext):
    """Kickstart signatures: verifications Pulp made of trees (read-only content)."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "signature"
    ENTITY = _("kickstart signature")
    ENTITIES = _("kickstart signatures")
    HREF = "kickstart_kickstart_signature_href"
    ID_PREFIX = "content_kickstart_signatures"
    NEEDS_PLUGINS = NEEDS


class PulpKickstartIndexContext(PulpContentContext):
    """Kickstart indexes: upstream image indexes exactly as a registry sent them under a tag
    (read-only content; what a push writes back byte for byte)."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "index"
    ENTITY = _("kickstart index")
    ENTITIES = _("kickstart indexes")
    HREF = "kickstart_kickstart_index_href"
    ID_PREFIX = "content_kickstart_indexes"
    NEEDS_PLUGINS = NEEDS


class PulpKickstartReleaseIndexContext(PulpContentContext):
    """Kickstart release indexes: a CoreOS stream's release history and update policy, as a
    sync from a CoreOS remote read it (read-only content; what the update graph serves)."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "release_index"
    ENTITY = _("kickstart release index")
    ENTITIES = _("kickstart release indexes")
    HREF = "kickstart_kickstart_release_index_href"
    ID_PREFIX = "content_kickstart_release_indexes"
    NEEDS_PLUGINS = NEEDS


class PulpKickstartOciRemoteContext(PulpRemoteContext):
    """Kickstart OCI remotes: a registry repository publishing trees."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "oci"
    ENTITY = _("kickstart OCI remote")
    ENTITIES = _("kickstart OCI remotes")
    HREF = "kickstart_kickstart_oci_remote_href"
    ID_PREFIX = "remotes_kickstart_oci"
    NULLABLES = PulpRemoteContext.NULLABLES | {
        "include_tags",
        "exclude_tags",
        "architectures",
        "signature_keys",
        "signature_lookaside",
        "redirect_origins",
        "token_origins",
    }
    CAPABILITIES = {"roles": []}
    NEEDS_PLUGINS = NEEDS


class PulpKickstartDnfRemoteContext(PulpRemoteContext):
    """Kickstart dnf remotes: a dnf install tree to assemble trees from."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "dnf"
    ENTITY = _("kickstart dnf remote")
    ENTITIES = _("kickstart dnf remotes")
    HREF = "kickstart_kickstart_dnf_remote_href"
    ID_PREFIX = "remotes_kickstart_dnf"
    NULLABLES = PulpRemoteContext.NULLABLES | {
        "skip_files",
        "signature_keys",
        "gpg_keys",
        "bootloader_packages",
        "redirect_origins",
    }
    CAPABILITIES = {"roles": []}
    NEEDS_PLUGINS = NEEDS


class PulpKickstartPulpRemoteContext(PulpRemoteContext):
    """Kickstart Pulp remotes: another Pulp's kickstart distribution (a replica's upstream)."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "pulp"
    ENTITY = _("kickstart Pulp remote")
    ENTITIES = _("kickstart Pulp remotes")
    HREF = "kickstart_kickstart_pulp_remote_href"
    ID_PREFIX = "remotes_kickstart_pulp"
    NULLABLES = PulpRemoteContext.NULLABLES | {"architectures", "redirect_origins"}
    CAPABILITIES = {"roles": []}
    NEEDS_PLUGINS = NEEDS


class PulpKickstartCoreosRemoteContext(PulpRemoteContext):
    """Kickstart CoreOS remotes: a CoreOS stream metadata document (one tree per arch of
    its current release) and, optionally, the stream's release index and update policy."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "coreos"
    ENTITY = _("kickstart CoreOS remote")
    ENTITIES = _("kickstart CoreOS remotes")
    HREF = "kickstart_kickstart_coreos_remote_href"
    ID_PREFIX = "remotes_kickstart_coreos"
    NULLABLES = PulpRemoteContext.NULLABLES | {
        "architectures",
        "extras",
        "release_index_url",
        "updates_url",
        "signature_keys",
        "redirect_origins",
    }
    CAPABILITIES = {"roles": []}
    NEEDS_PLUGINS = NEEDS


class PulpKickstartRepositoryVersionContext(PulpRepositoryVersionContext):
    """Versions of a kickstart repository."""

    HREF = "kickstart_kickstart_repository_version_href"
    ID_PREFIX = "repositories_kickstart_kickstart_versions"
    NEEDS_PLUGINS = NEEDS


class PulpKickstartRepositoryContext(PulpRepositoryContext):
    """Kickstart repositories: versioned sets of trees, synced from a remote."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "kickstart"
    ENTITY = _("kickstart repository")
    ENTITIES = _("kickstart repositories")
    HREF = "kickstart_kickstart_repository_href"
    ID_PREFIX = "repositories_kickstart_kickstart"
    VERSION_CONTEXT = PulpKickstartRepositoryVersionContext
    # pulpexport: `pulp exporter pulp create --repository kickstart:kickstart:<name>` and
    # `pulp export pulp run --start-versions kickstart:kickstart:<name> N` take it.
    CAPABILITIES = {"sync": [], "roles": [], "pulpexport": []}
    NULLABLES = PulpRepositoryContext.NULLABLES | {"remote"}
    NEEDS_PLUGINS = NEEDS

    def verify_signatures(self, body: EntityDefinition) -> t.Any:
        """Check the latest version's trees again with a remote's keys (a task)."""
        return self.call("verify_signatures", parameters={self.HREF: self.pulp_href}, body=body)

    def push(self, body: EntityDefinition) -> t.Any:
        """Push a version's trees to the registry an OCI remote names (a task)."""
        return self.call("push", parameters={self.HREF: self.pulp_href}, body=body)


class PulpKickstartDistributionContext(PulpDistributionContext):
    """Kickstart distributions: serve a repository's trees with boot configs."""

    PLUGIN = "kickstart"
    RESOURCE_TYPE = "kickstart"
    ENTITY = _("kickstart distribution")
    ENTITIES = _("kickstart distributions")
    HREF = "kickstart_kickstart_distribution_href"
    ID_PREFIX = "distributions_kickstart_kickstart"
    NULLABLES = PulpDistributionContext.NULLABLES | {
        "kickstart_url",
        "repository_version",
        "boot_origin",
        "ignition_url",
        "install_device",
        "graph_payload_repository",
        "bootc_image",
    }
    CAPABILITIES = {"roles": []}
    NEEDS_PLUGINS = NEEDS

    def preprocess_entity(self, body: EntityDefinition, partial: bool = False) -> EntityDefinition:
        """``--version`` pins a repository version; ``--repository`` alone follows latest."""
        body = super().preprocess_entity(body, partial=partial)
        version = body.pop("version", None)
        if version is not None:
            repository_href = body.pop("repository", None)
            if repository_href is None and partial:
                repository_href = (
                    self.entity.get("repository")
                    or (self.entity.get("repository_version") or "").split("versions/")[0]
                )
            if not repository_href:
                raise PulpException(_("--version needs --repository"))
            body["repository_version"] = f"{repository_href}versions/{version}/"
            body["repository"] = None
        elif body.get("repository"):
            body["repository_version"] = None
        return body

    def trees_index(self) -> t.Any:
        """Every tree the distribution serves, with its file and boot config URLs.

        Read through the REST API (the distribution's ``trees`` action) with the
        CLI's credentials, so a distribution behind a content guard works too.
        """
        return self.call("trees", parameters={self.HREF: self.pulp_href})

    def export(
        self,
        path: str,
        origin: str | None = None,
        boot_files: str | None = None,
        layout: str | None = None,
    ) -> t.Any:
        """Export the served trees and their generated documents to ``path`` on the server.

        Dispatches the distribution's ``export`` task and waits for it (unless the CLI
        runs in background mode); ``origin`` is where the exported configs point,
        ``boot_files`` ("http" or "tftp") how they fetch kernel and initrd, ``layout``
        ("pulp" or "foreman") where a TFTP export puts them (docs/tftp.md).
        """
        body: dict[str, t.Any] = {"path": path}
        for name, value in (("origin", origin), ("boot_files", boot_files), ("layout", layout)):
            if value is not None:
                body[name] = value
        return self.call("export", parameters={self.HREF: self.pulp_href}, body=body)


class PulpImportContext(PulpEntityContext):
    """Imports of a Pulp importer (pulpcore's), for `pulp import pulp run` (see
    pulpcore.cli.kickstart.pulp_import: pulp-cli has no such command yet)."""

    ENTITY = _("Pulp import")
    ENTITIES = _("Pulp imports")
    HREF = "pulp_pulp_import_href"
    ID_PREFIX = "importers_core_pulp_imports"
    importer: EntityDefinition

    @property
    def scope(self) -> dict[str, t.Any]:
        return {"pulp_importer_href": self.importer["pulp_href"]}
