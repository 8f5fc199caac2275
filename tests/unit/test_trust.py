"""One trust model for every remote: the key module, the policy decision, the RPM keyring.

Keys come from tests.support.signing (PEM, OpenPGP) and the dnf fixtures (a gpg key
that signs real RPMs); the RPMs are built by rpmbuild and checked by rpmkeys.
"""

import pytest

from pulp_kickstart_oci.app.dnf import rpm
from pulp_kickstart_oci.app.dnf.errors import DnfError
from pulp_kickstart_oci.app.models import KickstartDnfRemote, KickstartOciRemote
from pulp_kickstart_oci.app.signatures import KeyBlockError, SignatureError, keys, policy
from pulp_kickstart_oci.testing import dnf
from tests.support import signing


@pytest.fixture(scope="module")
def pem():
    return signing.public_pem(signing.generate_key("p256"))


@pytest.fixture(scope="module")
def gpg_key():
    key = signing.GpgKey()
    yield key
    key.close()


# --- the key module: one parser, the kinds each remote can use ----------------------------


def test_every_kind_is_accepted_by_default_and_by_oci_remotes(pem, gpg_key):
    text = pem + gpg_key.public_key()
    for parsed in (
        keys.parse_keys(text),
        keys.parse_keys(text, KickstartOciRemote.SIGNATURE_KEY_KINDS),
    ):
        assert (len(parsed.pem), len(parsed.openpgp)) == (1, 1)
        assert gpg_key.fingerprint.upper() in parsed.ids


def test_a_dnf_remote_takes_openpgp_keys_only_and_names_the_block(pem, gpg_key):
    kinds, use = KickstartDnfRemote.SIGNATURE_KEY_KINDS, KickstartDnfRemote.SIGNATURE_KEY_USE
    parsed = keys.parse_keys(gpg_key.public_key(), kinds, use)
    assert parsed.ids == (gpg_key.fingerprint.upper(),)
    with pytest.raises(KeyBlockError) as refused:
        keys.parse_keys(gpg_key.public_key() + pem, kinds, use)
    assert (refused.value.number, refused.value.kind) == (2, keys.PEM)
    assert str(refused.value) == (
        "key block 2 (PEM): RPM signatures are verified with OpenPGP keys only"
    )


def test_an_openpgp_key_is_armoured_alone_for_rpmkeys(gpg_key):
    (key,) = keys.parse_keys(gpg_key.public_key()).openpgp
    assert key.armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert keys.parse_keys(key.armored).ids == (key.id,)


# --- the policy: one decision for every source --------------------------------------------


@pytest.mark.parametrize(
    "name, verified, failed, outcome",
    [
        # (policy, found that verifies, found that fails) -> vouching list or error
        ("none", [], ["bad"], []),
        ("none", ["v"], [], []),
        ("if_present", [], [], []),  # nothing found: accepted
        ("if_present", ["v"], [], ["v"]),
        ("if_present", ["v"], ["bad"], "thing: bad"),  # any failure fails
        ("required", ["v"], [], ["v"]),
        ("required", ["v"], ["bad"], ["v"]),  # one that verifies is enough
        ("required", [], ["bad", "worse"], "verifies (bad; worse)"),
        ("required", [], [], "verifies (no signature was found)"),
    ],
)
def test_the_policy_decides_from_what_was_found_and_what_verified(name, verified, failed, outcome):
    if isinstance(outcome, list):
        assert policy.decide(name, "thing", verified, failed) == outcome
        return
    with pytest.raises(SignatureError) as refused:
        policy.decide(name, "thing", verified, failed)
    assert str(refused.value).startswith("thing: ")
    assert str(refused.value).endswith(outcome)


def test_only_required_holds_the_trees_a_sync_keeps():
    assert [name for name in policy.POLICIES if policy.holds_kept(name)] == ["required"]
    assert [name for name in policy.POLICIES if policy.checks(name)] == ["if_present", "required"]


def test_a_source_may_say_why_nothing_was_found():
    with pytest.raises(SignatureError, match=r"\(it is not signed\)$"):
        policy.decide("required", "package p", [], [], missing="it is not signed")


@pytest.mark.parametrize("name", ["if_present", "required"])
def test_a_checking_policy_needs_keys(name):
    assert policy.missing_keys(name, "  \n") == (
        f"signature_policy '{name}' needs at least one key in signature_keys."
    )
    with pytest.raises(SignatureError, match="needs at least one key"):
        policy.Trust.of(name, None)
    assert policy.missing_keys("none", None) is None


def test_the_trust_of_a_remote_parses_its_keys_once_for_its_kinds(pem, gpg_key):
    trust = policy.Trust.of("if_present", gpg_key.public_key(), (keys.OPENPGP,), "RPM signatures")
    assert trust.active and trust.keys.ids == (gpg_key.fingerprint.upper(),)
    with pytest.raises(SignatureError, match=r"^signature_keys: key block 1 \(PEM\)"):
        policy.Trust.of("required", pem, (keys.OPENPGP,), "RPM signatures")
    # Under 'none' the keys are not even read: nothing is checked.
    assert not policy.Trust.of("none", "not a key").active


# --- the RPM keyring: built from the parsed keys, says what it found -----------------------


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("trust")
    signer, stranger = dnf.make_key("Trust Signer", workdir), dnf.make_key("Trust Other", workdir)
    built = {
        name: dnf.build_rpm(
            workdir, "shim-x64", "1", name, "x86_64", {"/boot/efi/EFI/fedora/a.efi": b"x"}, **kw
        )
        for name, kw in (
            ("signed", {"sign_with": signer}),
            ("stranger", {"sign_with": stranger}),
            ("unsigned", {}),
        )
    }
    yield signer, stranger, built, workdir
    signer.close()
    stranger.close()


def test_the_keyring_checks_with_the_parsed_keys_only(rpms):
    signer, stranger, built, workdir = rpms
    keyring = rpm.Keyring(keys.parse_keys(signer.public_armored).openpgp, workdir=workdir)
    assert keyring.check(built["signed"]) == rpm.Checked(True)
    unsigned = keyring.check(built["unsigned"])
    assert unsigned == rpm.Checked(False, None)  # nothing found: the policy decides
    foreign = keyring.check(built["stranger"])
    assert not foreign.verified
    assert foreign.problem.startswith("signed by a key not in signature_keys (key ID ")
    assert stranger.fingerprint[-8:].lower() in foreign.problem.lower()


def test_a_keyring_needs_a_key(tmp_path):
    with pytest.raises(DnfError, match="holds no OpenPGP public key"):
        rpm.Keyring([], workdir=tmp_path)
