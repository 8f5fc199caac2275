from pulp_cli.generic import list_command, pulp_group, pulp_option, type_option
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartSignatureContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group()
@type_option(choices={"signature": PulpKickstartSignatureContext}, default="signature")
def signature() -> None:
    """Verifications Pulp made of trees (publisher signatures, dnf keyrings), per repository
    version: what a version vouches for. Created by sync only."""


filter_options = [
    pulp_option("--tree", help=_("Only verifications of this tree (href).")),
    pulp_option("--kind", help=_("cosign, sigstore-bundle, openpgp, or rpm (a dnf tree's RPMs).")),
    pulp_option("--key", help=_("Key id: sha256:<hex> of a PEM key, or an OpenPGP fingerprint.")),
    pulp_option("--signed-digest", help=_("The manifest or index digest it covers.")),
    pulp_option("--repository-version", help=_("Only verifications in this version (href).")),
]

signature.add_command(list_command(decorators=filter_options))
