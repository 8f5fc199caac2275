"""Trees are keyed by release, arch, digest and file set, not by the digest alone."""

import hashlib
import json

from django.db import migrations, models


def _identity(tree):
    # Same canonical form as models.tree_identity at the time of this migration.
    canonical = json.dumps(
        {
            "version": tree.version,
            "arch": tree.arch,
            "digest": tree.digest,
            "files": sorted([item["path"], item["sha256"]] for item in tree.files),
        },
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def fill_identity(apps, schema_editor):
    KickstartTree = apps.get_model("kickstart", "KickstartTree")
    for tree in KickstartTree.objects.all().iterator():
        tree.identity = _identity(tree)
        tree.save(update_fields=["identity"])


class Migration(migrations.Migration):
    dependencies = [
        ("kickstart", "0003_dnf_remote"),
    ]

    operations = [
        migrations.AddField(
            model_name="kickstarttree",
            name="identity",
            field=models.TextField(null=True),
        ),
        migrations.RunPython(fill_identity, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="kickstarttree",
            name="identity",
            field=models.TextField(),
        ),
        migrations.AlterUniqueTogether(
            name="kickstarttree",
            unique_together={("identity", "_pulp_domain")},
        ),
    ]
