"""The demo lake signs its own user in, as its owner would at the provider's pages.

``odlake demo`` runs ``odlake login``'s device-code sign-in for the demo instance and answers the
provider's pages itself (enter the code, log in with the lake's password, allow), so that the panel, the
magic and the notebook read the authenticated storage at once, with tokens the server then renews. The
pages are the lake's own (``oidc/provider.mjs``): their forms are read from the HTML and posted as a
browser posts them. Every request names the lake's CA: the lake is trusted through its own CA only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from ..core.records import SignedIn
from .home import IDENTITY, LakeError, LakeHome


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or ""))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[str(a["name"])] = a.get("value") or ""


def forms(page: Any) -> list[Form]:
    """The forms of a page (a ``requests`` answer), their actions made absolute."""
    parser = _Forms()
    parser.feed(page.text)
    return [Form(urljoin(page.url, f.action), f.fields) for f in parser.forms]


def _one_form(page: Any, what: str) -> Form:
    found = forms(page)
    if page.status_code != 200 or len(found) != 1:
        raise LakeError(f"the provider's {what} page was not what the lake serves (HTTP {page.status_code})")
    return found[0]


def confirm_device(verification_uri: str, user_code: str, user: str, password: str, ca: str) -> None:
    """Answer the provider's pages for a device code as ``user`` would in a browser."""
    import requests

    with requests.Session() as browser:

        def post(form: Form, **data: str) -> Any:
            return browser.post(form.action, data={**form.fields, **data}, verify=ca, timeout=30)

        entry = _one_form(browser.get(verification_uri, verify=ca, timeout=30), "code entry")
        confirm = _one_form(post(entry, user_code=user_code), "confirmation")
        login = _one_form(post(confirm), "login")
        consent = post(login, login=user, password=password)
        if "Allow access" not in consent.text:
            raise LakeError(f"the provider did not take {user}'s password (HTTP {consent.status_code})")
        done = post(_one_form(consent, "consent"))
        if done.status_code != 200 or "signed in" not in done.text:
            raise LakeError(f"the provider did not sign the device in (HTTP {done.status_code})")


def sign_in_demo_user(home: LakeHome, state_dir: str | Path | None = None) -> SignedIn:
    """Sign the demo instance in as the lake's demo user, where a Jupyter server with ``state_dir`` keeps its
    sign-ins (default: the user's state folder)."""
    from ..core import LakeService
    from ..core.config import from_lake

    config = from_lake(home.root)
    if config is None or not config.oidc:
        raise LakeError(f"the lake in {home.root} has no OpenID Connect provider to sign in at")
    service = LakeService([config], state_dir=state_dir)
    try:
        sign_in = service.sign_in()  # an instance with 'oidc' and no token file signs in
        device = sign_in.start_device()
        confirm_device(device.verification_uri, device.user_code, IDENTITY, home.password(), str(config.ca_cert))
        return sign_in.finish_device(device)
    finally:
        service.close()
