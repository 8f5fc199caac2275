"""The stack's PostgreSQL, read directly: what a sync wrote, and scratch databases.

The API shows what a repository version holds; a sync that fails must also leave
every row it could touch as it was (issue 19: saved content never changes), which
only the database shows. psql runs as the cluster's superuser on the stack's port
(dev/stack), as bench/sync_pulp.py does.
"""

import json
import os
import subprocess
from pathlib import Path

PG_PORT = int(os.environ.get("PG_PORT", "24815"))


def pg_bin():
    """The newest installed PostgreSQL's bin directory (the stack runs that one)."""
    return sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)[-1]


def psql(sql, database="pulp"):
    """Run ``sql`` (one or more statements) and return the last result's text, unaligned."""
    done = subprocess.run(
        [str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres"]
        + ["-d", database, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise AssertionError(f"psql failed: {done.stderr.strip()}")
    return done.stdout.strip()


def href_pk(href):
    """The pk (UUID) at the end of a Pulp href."""
    return href.rstrip("/").rsplit("/", 1)[1]


# Every row a sync of one repository from one upstream could write. Content rows leave out
# ``timestamp_of_interest`` (pulpcore's orphan-cleanup clock, touched whenever a sync sees a
# unit) and the repository leaves out ``next_version`` (pulpcore's counter, spent by a
# version that was started and then deleted): neither is what a version or a document shows.
_FOOTPRINT = """
WITH repo AS (SELECT '{repository}'::uuid AS pk),
versions AS (
  SELECT v.* FROM core_repositoryversion v, repo WHERE v.repository_id = repo.pk),
held AS (
  SELECT rc.content_id FROM core_repositorycontent rc, repo WHERE rc.repository_id = repo.pk),
trees AS (
  SELECT t.content_ptr_id AS pk FROM kickstart_kickstarttree t
  WHERE t.content_ptr_id IN (SELECT content_id FROM held)
     OR strpos(t.source::text, '{marker}') > 0),
units AS (
  SELECT pk FROM trees
  UNION SELECT content_ptr_id FROM kickstart_kickstarttag WHERE tree_id IN (SELECT pk FROM trees)
  UNION SELECT content_ptr_id FROM kickstart_kickstartsignature
        WHERE tree_id IN (SELECT pk FROM trees)
  UNION SELECT content_id FROM held),
distributions AS (
  SELECT d.pulp_id FROM core_distribution d, repo
  WHERE d.repository_id = repo.pk
     OR d.repository_version_id IN (SELECT pulp_id FROM versions))
SELECT json_build_object(
  'repository', (SELECT to_jsonb(r) - 'next_version' FROM core_repository r, repo
                 WHERE r.pulp_id = repo.pk),
  'kickstart_repository', (SELECT to_jsonb(k) FROM kickstart_kickstartrepository k, repo
                           WHERE k.repository_ptr_id = repo.pk),
  'versions', (SELECT json_agg(to_jsonb(v) ORDER BY v.number) FROM versions v),
  'version_counts', (SELECT json_agg(to_jsonb(c) ORDER BY c.repository_version_id,
                                     c.content_type, c.count_type)
                     FROM core_repositoryversioncontentdetails c
                     WHERE c.repository_version_id IN (SELECT pulp_id FROM versions)),
  'repository_content', (SELECT json_agg(to_jsonb(rc) ORDER BY rc.pulp_id)
                         FROM core_repositorycontent rc, repo
                         WHERE rc.repository_id = repo.pk),
  'content', (SELECT json_agg(to_jsonb(c) - 'timestamp_of_interest' ORDER BY c.pulp_id)
              FROM core_content c WHERE c.pulp_id IN (SELECT pk FROM units)),
  'trees', (SELECT json_agg(to_jsonb(t) ORDER BY t.content_ptr_id) FROM kickstart_kickstarttree t
            WHERE t.content_ptr_id IN (SELECT pk FROM units)),
  'tags', (SELECT json_agg(to_jsonb(t) ORDER BY t.content_ptr_id) FROM kickstart_kickstarttag t
           WHERE t.content_ptr_id IN (SELECT pk FROM units)),
  'signatures', (SELECT json_agg(to_jsonb(s) ORDER BY s.content_ptr_id)
                 FROM kickstart_kickstartsignature s
                 WHERE s.content_ptr_id IN (SELECT pk FROM units)),
  'content_artifacts', (SELECT json_agg(to_jsonb(ca) ORDER BY ca.pulp_id)
                        FROM core_contentartifact ca
                        WHERE ca.content_id IN (SELECT pk FROM units)),
  'distributions', (SELECT json_agg(to_jsonb(d) ORDER BY d.pulp_id) FROM core_distribution d
                    WHERE d.pulp_id IN (SELECT pulp_id FROM distributions)),
  'kickstart_distributions', (SELECT json_agg(to_jsonb(k) ORDER BY k.distribution_ptr_id)
                              FROM kickstart_kickstartdistribution k
                              WHERE k.distribution_ptr_id IN (SELECT pulp_id FROM distributions))
)
"""


def sync_footprint(repository_href, marker):
    """Every row a sync of the repository could write, as JSON-like data to compare.

    ``marker``: text only the upstream's trees carry in their ``source`` (a unique
    upstream repository name, or a dnf tree's URL), so trees, tags and signatures the
    sync would create are seen even when no version holds them. Scoped to this
    repository and upstream: other tests' syncs on the shared stack do not show.
    """
    if "'" in marker:
        raise ValueError(f"a marker is plain text: {marker!r}")
    sql = _FOOTPRINT.format(repository=href_pk(repository_href), marker=marker)
    return json.loads(psql(sql))


def marker_of(remote):
    """What only ``remote``'s upstream trees carry in their source: its repository name
    (a registry remote) or its URL (a dnf remote)."""
    return getattr(remote, "upstream_name", None) or remote.url.rstrip("/")


def differences(before, after):
    """The parts of two footprints that differ, for an assertion message."""
    return {
        part: {"before": before.get(part), "after": after.get(part)}
        for part in sorted(set(before) | set(after))
        if before.get(part) != after.get(part)
    }
