"""The sign-in's configuration and what it decides without a provider: which settings are refused, when a
token is due, what a user without a sign-in is told, and what the kernels of a server start with. Against the
real provider: test_signin.py."""

import json
import sys
import time
import warnings

import pytest

from jupyterlab_odlake.core import InstanceConfig, InvalidRequest, LakeService
from jupyterlab_odlake.core.errors import AuthenticationFailed
from jupyterlab_odlake.core.records import ReadAccess
from jupyterlab_odlake.core.signin import IDLE_CHECK, SignIn, SignInSettings
from jupyterlab_odlake.kernel import api

OIDC = {"issuer": "https://iam.example.org/", "client_id": "odlake"}


def config(**kwargs) -> InstanceConfig:
    return InstanceConfig.from_dict({"name": "escape", "rucio_host": "https://rucio.example.org", **kwargs})


@pytest.mark.parametrize(
    "oidc, refused",
    [
        ({"issuer": "https://iam.example.org/"}, "needs the provider's 'issuer' and a 'client_id'"),
        ({**OIDC, "audiences": "rucio"}, "unknown keys in 'oidc': audiences"),
        ({**OIDC, "audience_parameter": "aud"}, "'resource' or 'audience'"),
    ],
)
def test_a_wrong_oidc_setting_is_refused_with_the_instances_name(oidc, refused):
    with pytest.raises(InvalidRequest) as e:
        config(auth_type="oidc", oidc=oidc)
    assert refused in str(e.value) and "Instance 'escape'" in str(e.value)


def test_odlake_keeps_the_tokens_unless_someone_else_does():
    assert config(auth_type="oidc", oidc=OIDC).signs_in()
    assert config(auth_type="userpass", username="a", password="b", oidc=OIDC).signs_in()  # storage only
    assert not config(auth_type="oidc", oidc=OIDC, token_file="/run/hub/token").signs_in()  # a hub's
    assert not config(auth_type="oidc", token_env="ACCESS_TOKEN").signs_in()


def test_the_audience_goes_as_the_provider_takes_it():
    iam = SignInSettings.from_config("escape", {**OIDC, "audience_parameter": "audience"})
    assert iam.audience("rucio") == {"audience": "rucio"}
    assert SignInSettings.from_config("escape", OIDC).audience("storage") == {
        "resource": "https://wlcg.cern.ch/jwt/v1/any"
    }
    assert SignInSettings.from_config("escape", {**OIDC, "rucio_audience": ""}).audience("rucio") == {}


def test_without_a_sign_in_the_user_is_told_to_sign_in(tmp_path):
    sign_in = SignIn("escape", SignInSettings.from_config("escape", OIDC), tmp_path)
    assert not sign_in.signed_in() and sign_in.status() is None
    with pytest.raises(AuthenticationFailed) as e:
        sign_in.access_token_file("storage")
    assert str(e.value) == "You are not signed in to 'escape': run odlake login escape in a terminal."
    assert sign_in.keep_fresh() == IDLE_CHECK


def test_a_token_is_due_a_third_of_its_life_before_its_end():
    now = time.time()
    held = {"tokens": {"storage": {"expires_at": now + 500, "lifetime": 1200}}}
    assert not SignIn._due(held, "storage", now) and SignIn._due(held, "storage", now + 101)
    short = {"tokens": {"storage": {"expires_at": now + 20, "lifetime": 30}}}
    assert SignIn._due(short, "storage", now + 6)  # at least 15 s before
    assert SignIn._due(held, "rucio", now)  # none held yet


def test_an_ended_sign_in_is_said_without_asking_the_provider(tmp_path):
    sign_in = SignIn("escape", SignInSettings.from_config("escape", OIDC), tmp_path)  # no provider answers
    session = {"subject": "alice", "signed_in_at": 1.0, "refresh_token": "r", "tokens": {}, "ended": "revoked"}
    (tmp_path / "signin.json").write_text(json.dumps(session))
    with pytest.raises(AuthenticationFailed, match=r"^Your sign-in to 'escape' has ended \(revoked\): sign in again"):
        sign_in.access_token_file("rucio")
    assert sign_in.status().ended == "revoked"


def test_the_kernels_of_a_server_start_with_the_default_instances_ca(tmp_path):
    service = LakeService(
        [config(ca_certdir="/etc/grid-security/certificates"), config(name="other", ca_certdir="/elsewhere")],
        cache_dir=tmp_path / "c",
        state_dir=tmp_path / "s",
    )
    try:
        assert service.kernel_environment() == {"X509_CERT_DIR": "/etc/grid-security/certificates"}
    finally:
        service.close()


def test_a_ca_set_after_xrootd_was_used_in_the_kernel_is_said(monkeypatch):
    monkeypatch.setenv("X509_CERT_DIR", "/etc/grid-security/certificates")
    monkeypatch.setitem(sys.modules, "XRootD.client", object())  # this kernel has read over root:// already
    with pytest.warns(UserWarning, match="restart the kernel|Restart the kernel"):
        api.use_for_xrootd(ReadAccess(None, None, "/lake/ca/certs"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.use_for_xrootd(ReadAccess(None, None, "/lake/ca/certs"))  # the same again: nothing to say


@pytest.mark.parametrize(
    "settings, refused",
    [
        ({"auth_type": "oidc", "token_source": "hubs"}, "token_source is 'hub' or not set, not 'hubs'"),
        ({"auth_type": "userpass", "token_source": "hub"}, "token_source 'hub' needs auth_type 'oidc'"),
    ],
)
def test_a_wrong_token_source_is_refused_in_one_sentence(settings, refused):
    with pytest.raises(InvalidRequest) as e:
        config(**settings)
    assert refused in str(e.value) and "'escape'" in str(e.value)


def test_tokens_from_the_hub_outside_a_hub_say_so_and_keep_no_file(tmp_path):
    from jupyterlab_odlake.core.hubtokens import HubTokens

    tokens = HubTokens("escape", tmp_path / "tokens", environ={})
    assert not tokens.signed_in() and tokens.status() is None
    with pytest.raises(AuthenticationFailed) as e:
        tokens.access_token_file("rucio")
    assert "was not started by a hub" in str(e.value)
    assert not list((tmp_path / "tokens").glob("hub_*"))
    with pytest.raises(AuthenticationFailed) as e:
        tokens.start_device()
    assert "log in to the hub, not with odlake login" in str(e.value)
