"""Signatures become content; the dnf remote joins the one trust model; distributions get an origin.

Verification records kept on a tree (``KickstartTree.signatures``, and a dnf tree's
``source.verified_with``) become KickstartSignature units in the repository versions
that held the tree: a record naming the repository whose sync made it goes to that
repository's versions only, an older record (naming none) to every repository that
holds the tree. A dnf remote's ``gpg_keys`` becomes ``signature_keys`` under the
``required`` policy (what ``gpg_keys`` meant).
"""

import django.db.models.deletion
import pulpcore.app.util
from django.db import migrations, models

SIGNATURE_TYPE = "kickstart.signature"


def _bump(details, version_id, count_type):
    """Add one signature to a version's content counts (pulpcore keeps them per type)."""
    row, _ = details.objects.get_or_create(
        repository_version_id=version_id,
        content_type=SIGNATURE_TYPE,
        count_type=count_type,
        defaults={"count": 0},
    )
    row.count += 1
    row.save(update_fields=["count"])


def _place(apps, signature, tree_pk, repository_pk):
    """Put ``signature`` in every version (of ``repository_pk``, or of any) that holds the tree."""
    repository_content = apps.get_model("core", "RepositoryContent")
    repository_version = apps.get_model("core", "RepositoryVersion")
    details = apps.get_model("core", "RepositoryVersionContentDetails")
    holders = repository_content.objects.filter(content_id=tree_pk).select_related(
        "version_added", "version_removed"
    )
    if repository_pk:
        holders = holders.filter(repository_id=repository_pk)
    for held in holders:
        duplicate = repository_content.objects.filter(
            content_id=signature.pk,
            repository_id=held.repository_id,
            version_added_id=held.version_added_id,
        )
        if duplicate.exists():
            continue
        repository_content.objects.create(
            content_id=signature.pk,
            repository_id=held.repository_id,
            version_added_id=held.version_added_id,
            version_removed_id=held.version_removed_id,
        )
        versions = repository_version.objects.filter(
            repository_id=held.repository_id, number__gte=held.version_added.number
        )
        if held.version_removed_id is not None:
            versions = versions.filter(number__lt=held.version_removed.number)
        for version in versions:
            if signature.pk not in version.content_ids:
                version.content_ids = list(version.content_ids) + [signature.pk]
                version.save(update_fields=["content_ids"])
            _bump(details, version.pk, "P")
        _bump(details, held.version_added_id, "A")
        if held.version_removed_id is not None:
            _bump(details, held.version_removed_id, "R")


def records_to_content(apps, schema_editor):
    tree_model = apps.get_model("kickstart", "KickstartTree")
    signature_model = apps.get_model("kickstart", "KickstartSignature")
    trees = tree_model.objects.exclude(signatures=[]) | tree_model.objects.filter(
        source__has_key="verified_with"
    )
    for tree in trees.distinct().iterator():
        records = [(record, record.get("repository")) for record in tree.signatures or []]
        for keyring in tree.source.get("verified_with") or []:
            record = {
                "kind": "rpm",
                "key": ",".join(sorted(keyring)),
                "signed_digest": tree.digest,
                "reference": tree.source.get("url") or "",
            }
            records.append((record, None))
        for record, repository_pk in records:
            signature, _ = signature_model.objects.get_or_create(
                tree_id=tree.pk,
                kind=record["kind"],
                key=record["key"],
                signed_digest=record["signed_digest"],
                reference=record.get("reference") or "",
                _pulp_domain_id=tree._pulp_domain_id,
                defaults={
                    "pulp_type": SIGNATURE_TYPE,
                    "pulp_domain_id": tree.pulp_domain_id,
                    "tlog_checked": bool(record.get("tlog_checked")),
                },
            )
            _place(apps, signature, tree.pk, repository_pk)
        if "verified_with" in tree.source:
            tree.source = {k: v for k, v in tree.source.items() if k != "verified_with"}
            tree.save(update_fields=["source"])


def content_to_records(apps, schema_editor):
    """Back to records on the tree (unscoped); the units and their version links are dropped."""
    tree_model = apps.get_model("kickstart", "KickstartTree")
    signature_model = apps.get_model("kickstart", "KickstartSignature")
    repository_content = apps.get_model("core", "RepositoryContent")
    for signature in signature_model.objects.select_related("tree").iterator():
        tree = tree_model.objects.get(pk=signature.tree_id)
        if signature.kind == "rpm":
            keyrings = tree.source.get("verified_with") or []
            tree.source = {**tree.source, "verified_with": keyrings + [signature.key.split(",")]}
        else:
            tree.signatures = list(tree.signatures) + [
                {
                    "kind": signature.kind,
                    "key": signature.key,
                    "signed_digest": signature.signed_digest,
                    "reference": signature.reference or None,
                    "tlog_checked": signature.tlog_checked,
                    "verified_at": signature.pulp_created.isoformat(),
                }
            ]
        tree.save(update_fields=["signatures", "source"])
    repository_content.objects.filter(content__pulp_type=SIGNATURE_TYPE).delete()
    signature_model.objects.all().delete()


def gpg_keys_to_trust(apps, schema_editor):
    remote_model = apps.get_model("kickstart", "KickstartDnfRemote")
    for remote in remote_model.objects.exclude(gpg_keys__isnull=True).exclude(gpg_keys=""):
        remote.signature_keys = remote.gpg_keys
        remote.signature_policy = "required"
        remote.save(update_fields=["signature_keys", "signature_policy"])


def trust_to_gpg_keys(apps, schema_editor):
    remote_model = apps.get_model("kickstart", "KickstartDnfRemote")
    for remote in remote_model.objects.exclude(signature_policy="none"):
        remote.gpg_keys = remote.signature_keys
        remote.save(update_fields=["gpg_keys"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0161_upstreampulp_remote_policy"),
        ("kickstart", "0009_export_directories"),
    ]

    operations = [
        migrations.AddField(
            model_name="kickstartdistribution",
            name="boot_origin",
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name="kickstartdnfremote",
            name="signature_keys",
            field=models.TextField(null=True),
        ),
        migrations.AddField(
            model_name="kickstartdnfremote",
            name="signature_policy",
            field=models.TextField(
                choices=[("none", "none"), ("if_present", "if_present"), ("required", "required")],
                default="none",
            ),
        ),
        migrations.RunPython(gpg_keys_to_trust, trust_to_gpg_keys, elidable=False),
        migrations.RemoveField(model_name="kickstartdnfremote", name="gpg_keys"),
        migrations.CreateModel(
            name="KickstartSignature",
            fields=[
                (
                    "content_ptr",
                    models.OneToOneField(
                        auto_created=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        parent_link=True,
                        primary_key=True,
                        serialize=False,
                        to="core.content",
                    ),
                ),
                ("kind", models.TextField()),
                ("key", models.TextField()),
                ("signed_digest", models.TextField()),
                ("reference", models.TextField(blank=True, default="")),
                ("tlog_checked", models.BooleanField(default=False)),
                (
                    "_pulp_domain",
                    models.ForeignKey(
                        default=pulpcore.app.util.get_domain_pk,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="core.domain",
                    ),
                ),
                (
                    # "+" while the tree still has its ``signatures`` field (removed below).
                    "tree",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="kickstart.kickstarttree",
                    ),
                ),
            ],
            options={
                "default_related_name": "%(app_label)s_%(model_name)s",
                "unique_together": {
                    ("tree", "kind", "key", "signed_digest", "reference", "_pulp_domain")
                },
            },
            bases=("core.content",),
        ),
        migrations.RunPython(records_to_content, content_to_records, elidable=False),
        migrations.RemoveField(model_name="kickstarttree", name="signatures"),
        migrations.AlterField(
            model_name="kickstartsignature",
            name="tree",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="signatures",
                to="kickstart.kickstarttree",
            ),
        ),
    ]
