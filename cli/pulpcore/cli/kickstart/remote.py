import re
import typing as t

import click
from pulp_cli.generic import (
    HEADER_REGEX,
    common_remote_create_options,
    common_remote_update_options,
    create_command,
    destroy_command,
    href_option,
    label_command,
    list_command,
    load_json_callback,
    load_string_callback,
    name_option,
    pulp_group,
    pulp_option,
    remote_filter_options,
    remote_lookup_option,
    role_command,
    show_command,
    type_option,
    update_command,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import (
    PulpKickstartCoreosRemoteContext,
    PulpKickstartDnfRemoteContext,
    PulpKickstartOciRemoteContext,
    PulpKickstartPulpRemoteContext,
)

translation = get_translation(__package__)
_ = translation.gettext
HEADER = re.compile(HEADER_REGEX)


OCI = (PulpKickstartOciRemoteContext,)
DNF = (PulpKickstartDnfRemoteContext,)
PULP = (PulpKickstartPulpRemoteContext,)
COREOS = (PulpKickstartCoreosRemoteContext,)
# One trust model: the same signature options on every remote that checks signatures.
EVERY = OCI + DNF + COREOS
COREOS_EXTRAS = ("disk", "iso")


def load_signature_keys_callback(
    ctx: click.Context, param: click.Parameter, value: t.Iterable[str] | None
) -> str | None:
    """Each ``--signature-key`` is a key text or '@file'; all of them, joined by a newline.

    Not given: None, so the body leaves ``signature_keys`` alone. An empty value
    alone ('') clears the keys (the context maps '' to null).
    """
    if not value:
        return None
    keys = [load_string_callback(ctx, param, item) for item in value]
    return "\n".join(key for key in keys if key)


def _origins(values: t.Iterable[str] | None) -> list[str] | str | None:
    """Repeated origin options as a list; not given: None (left alone); '' alone: cleared."""
    values = [value for value in values or () if value is not None]
    if not values:
        return None
    if values == [""]:
        return ""
    return values


def _extras(
    ctx: click.Context, param: click.Parameter, value: t.Iterable[str] | None
) -> list[str] | str | None:
    """Repeated ``--extra`` as a list of known extras; not given: None; '' alone: cleared."""
    values = _origins(value)
    if isinstance(values, list):
        unknown = [extra for extra in values if extra not in COREOS_EXTRAS]
        if unknown:
            raise click.BadParameter(
                _("{unknown!r} is not one of {choices} ('' alone removes them all).").format(
                    unknown=unknown[0], choices=", ".join(COREOS_EXTRAS)
                )
            )
    return values


@pulp_group()
@type_option(
    choices={
        "oci": PulpKickstartOciRemoteContext,
        "dnf": PulpKickstartDnfRemoteContext,
        "pulp": PulpKickstartPulpRemoteContext,
        "coreos": PulpKickstartCoreosRemoteContext,
    }
)
def remote() -> None:
    """Where trees come from: an OCI registry repository (--type oci), a dnf tree (--type dnf),
    another Pulp's kickstart distribution (--type pulp, its base URL as --url) or a CoreOS
    stream metadata document (--type coreos, e.g. Fedora's streams/stable.json as --url)."""


lookup_options = [href_option, name_option, remote_lookup_option]
kickstart_remote_options = [
    pulp_option(
        "--policy",
        type=click.Choice(["immediate", "on_demand", "streamed"], case_sensitive=False),
        help=_("When files are downloaded: during sync (immediate) or on first request."),
    ),
    pulp_option(
        "--upstream-name",
        help=_("Repository in the registry, e.g. 'pulp/fedora-kickstart-artifacts'."),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--include-tags",
        callback=load_json_callback,
        help=_(
            "JSON list of tag globs to sync, e.g. '[\"4*\"]' (or @file). Default: N and N-ARCH."
        ),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--exclude-tags",
        callback=load_json_callback,
        help=_("JSON list of tag globs to leave out (or @file)."),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--architectures",
        callback=load_json_callback,
        help=_('JSON list of architectures, Fedora or OCI names, e.g. \'["x86_64", "arm64"]\'.'),
        allowed_with_contexts=OCI + PULP + COREOS,
    ),
    pulp_option(
        "--extra",
        "extras",
        multiple=True,
        metavar="disk|iso",
        callback=_extras,
        help=_(
            "A file to sync beyond the live PXE kernel, initramfs and rootfs: 'disk' (the metal "
            "disk image coreos.inst.image_url installs) or 'iso' (the live ISO). Repeat for both; "
            "on update, the extras given replace the remote's, and '' removes them all."
        ),
        allowed_with_contexts=COREOS,
    ),
    pulp_option(
        "--release-index-url",
        help=_(
            "URL of the stream's release index, on the stream document's origin (Fedora CoreOS: "
            "https://builds.coreos.fedoraproject.org/prod/streams/stable/releases.json): a sync "
            "then stores the stream's release history, which the update graph serves; '' "
            "removes it."
        ),
        allowed_with_contexts=COREOS,
    ),
    pulp_option(
        "--updates-url",
        help=_(
            "URL of the stream's update policy (barriers, dead ends, rollouts), on the stream "
            "document's origin (Fedora CoreOS: "
            "https://builds.coreos.fedoraproject.org/updates/stable.json); needs "
            "--release-index-url. '' removes it."
        ),
        allowed_with_contexts=COREOS,
    ),
    pulp_option(
        "--signature-key",
        "signature_keys",
        multiple=True,
        callback=load_signature_keys_callback,
        help=_(
            "A public key of a publisher you trust: PEM (cosign.pub) or ASCII-armoured OpenPGP "
            "(dnf remotes: OpenPGP only, the RPM signing key; coreos remotes: OpenPGP only, the "
            "Fedora release key); '@file' reads a file. Repeat for "
            "several keys; they are sent joined by a newline. On update, the keys given "
            "replace all of the remote's keys ('' removes them)."
        ),
        allowed_with_contexts=EVERY,
    ),
    pulp_option(
        "--signature-policy",
        type=click.Choice(["none", "if_present", "required"], case_sensitive=False),
        help=_(
            "none: signatures are not looked at (server default). if_present: every signature "
            "found must verify with a --signature-key, or the sync fails. required: every tree "
            "synced or kept (OCI), every RPM used (dnf), every file (coreos) needs a valid "
            "signature by a --signature-key. coreos remotes verify with --policy immediate only."
        ),
        allowed_with_contexts=EVERY,
    ),
    pulp_option(
        "--signature-lookaside",
        help=_(
            "Base URL of a lookaside store of OpenPGP signatures "
            "(<base>/<repository>@sha256=<hex>/signature-N); '' removes it."
        ),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--signature-identity-check/--no-signature-identity-check",
        "signature_identity_check",
        default=None,
        help=_(
            "Check that a signature names this remote's registry and repository "
            "(server default: check)."
        ),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--redirect-origin",
        "redirect_origins",
        multiple=True,
        callback=lambda ctx, param, value: _origins(value),
        help=_(
            "An origin (scheme://host[:port]; '*.' allows any subdomain) upstream may redirect "
            "digest-pinned reads to, e.g. a blob CDN or a mirror network; nothing identifying "
            "the remote is sent there. Repeat for several; on update, '' removes them all."
        ),
    ),
    pulp_option(
        "--token-origin",
        "token_origins",
        multiple=True,
        callback=lambda ctx, param, value: _origins(value),
        help=_(
            "The origin of a token service the registry may send Pulp to (it receives the "
            "remote's username and password, over https only), e.g. https://auth.docker.io. "
            "Repeat for several; on update, '' removes them all."
        ),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--skip-files",
        callback=load_json_callback,
        help=_("JSON list of file or package names not to sync, e.g. '[\"boot.iso\"]'."),
        allowed_with_contexts=DNF,
    ),
    pulp_option(
        "--gpg-keys",
        callback=load_string_callback,
        help=_(
            "Deprecated: use --signature-key and --signature-policy. ASCII-armoured public keys "
            "every RPM must be signed with ('@file' reads a file): the keys, under "
            "--signature-policy required unless given."
        ),
        allowed_with_contexts=DNF,
    ),
    pulp_option(
        "--bootloader-packages",
        callback=load_json_callback,
        help=_('JSON object of package names per arch, e.g. \'{{"x86_64": ["shim-x64"]}}\'.'),
        allowed_with_contexts=DNF,
    ),
]


def _headers_callback(
    ctx: click.Context, param: click.Parameter, value: t.Iterable[str]
) -> t.Optional[t.List[t.Dict[str, str]]]:
    """``--header NAME:VALUE``, parsed as pulp-cli parses it, without echoing the values
    to stderr as pulp-cli 0.41's own callback does (a header often carries an API key)."""
    if not value:
        return None
    refused = [item for item in value if item != "" and not HEADER.match(item)]
    if refused:
        raise click.BadParameter(_("format must be <header-name>:<value>"))
    headers: t.List[t.Dict[str, str]] = []
    for item in value:
        if item == "":
            headers = []
        else:
            name, text = item.split(":", maxsplit=1)
            headers.append({name: text})
    return headers


def _quiet_headers(command: click.Command) -> click.Command:
    for param in command.params:
        if param.name == "headers":
            param.callback = _headers_callback
    return command


remote.add_command(list_command(decorators=remote_filter_options))
remote.add_command(show_command(decorators=lookup_options))
remote.add_command(
    _quiet_headers(
        create_command(decorators=common_remote_create_options + kickstart_remote_options)
    )
)
remote.add_command(
    _quiet_headers(
        update_command(
            decorators=lookup_options + common_remote_update_options + kickstart_remote_options
        )
    )
)
remote.add_command(destroy_command(decorators=lookup_options))
remote.add_command(label_command(decorators=[remote_lookup_option]))
remote.add_command(role_command(decorators=lookup_options))
