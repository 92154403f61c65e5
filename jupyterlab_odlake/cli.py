"""The ``odlake`` command: the demo lake and the demo."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .lake.home import HOME_ENV, LakeError, LakeHome, State
from .lake.samples import SIZES


def _lake_up(args: argparse.Namespace) -> int:
    from .lake import manager

    home = LakeHome.resolve(args.home)
    ports = {"rucio": args.rucio_port, "storage": args.storage_port, "postgres": args.db_port}
    state = manager.up(
        home, size=args.size, db=args.db, ports=ports, token_lifetime=args.token_lifetime, hub_url=args.hub_url
    )
    if not state["started"]:
        print(f"The lake in {home.root} is already running.")
    _print_status(home, state, manager.running(home, state))
    return 0


def _lake_down(args: argparse.Namespace) -> int:
    from .lake import manager

    home = LakeHome.resolve(args.home)
    if manager.down(home, purge=args.purge):
        print(f"The lake in {home.root} is stopped{' and removed' if args.purge else ''}.")
    else:
        print(f"No lake in {home.root}{'; removed what was there' if args.purge else ''}.")
    return 0


def _lake_status(args: argparse.Namespace) -> int:
    from .lake import manager

    home = LakeHome.resolve(args.home)
    state, alive = manager.status(home)
    if args.json:
        print(json.dumps({"state": state, "running": alive}, indent=2))
        return 0 if state and all(alive.values()) else 3
    if state is None:
        print(f"No lake in {home.root}. Start one with: odlake lake up")
        return 3
    _print_status(home, state, alive)
    return 0 if all(alive.values()) else 3


def _cache_verify(args: argparse.Namespace) -> int:
    from .core.did import DID
    from .core.errors import OdlakeError
    from .core.transfers.cache import Cache, default_root

    cache = Cache(args.cache_dir or default_root())
    try:
        dids = [DID.parse(d) for d in args.dids] if args.dids else list(cache.copies())
    except OdlakeError as e:
        print(f"odlake: error: {e.message}", file=sys.stderr)
        return 2
    bad = []
    for did in dids:
        good = cache.verify(did)
        print(f"{'ok  ' if good else 'BAD '} {did}")
        if not good:
            bad.append(did)
    print(
        f"{len(dids) - len(bad)} of {len(dids)} cached copies verified in {cache.root}"
        + (f"; {len(bad)} bad or missing, removed: the next attach fetches them again." if bad else ".")
    )
    return 1 if bad else 0


def _configured_service(args: argparse.Namespace) -> Any:
    """The service ``odlake login`` and ``logout`` work with, as this user's Jupyter server configures it."""
    from .server.extension import configured

    odlake = configured()
    if args.state_dir:
        odlake.state_dir = args.state_dir
    return odlake.make_service()


def _login(args: argparse.Namespace) -> int:
    import time
    from datetime import datetime

    from .core.errors import OdlakeError

    service = _configured_service(args)
    try:
        name = service.instance_name(args.instance)
        sign_in = service.sign_in(name)
        device = sign_in.start_device()
        minutes = max(1, round((device.expires_at - time.time()) / 60))
        print(
            f"To sign in to '{name}', open\n\n    {device.verification_uri_complete}\n\n"
            f"in a browser, or open {device.verification_uri} and enter the code {device.user_code} "
            f"(it expires in {minutes} minutes). Waiting…",
            flush=True,
        )
        status = sign_in.finish_device(device)
        account = service.instance_status(name)
    except OdlakeError as e:
        print(f"odlake: error: {e.message}", file=sys.stderr)
        return 1
    finally:
        service.close()
    until = datetime.fromtimestamp(status.expires_at).strftime("%H:%M:%S")
    rucio = (
        f"Rucio knows you as account '{account['account']}'."
        if account.get("authenticated")
        else f"Rucio did not take the sign-in: {account.get('message')}"
    )
    print(
        f"Signed in to '{name}' as {status.subject}. {rucio} "
        f"Your storage token lives until {until} and odlake renews it while you work."
    )
    return 0 if account.get("authenticated") else 1


def _logout(args: argparse.Namespace) -> int:
    from .core.errors import OdlakeError

    service = _configured_service(args)
    try:
        name = service.instance_name(args.instance)
        forgotten = service.sign_in(name).sign_out()
    except OdlakeError as e:
        print(f"odlake: error: {e.message}", file=sys.stderr)
        return 1
    finally:
        service.close()
    print(f"Signed out of '{name}'." if forgotten else f"You were not signed in to '{name}'.")
    return 0


def _lake_user_add(args: argparse.Namespace) -> int:
    from .lake import manager
    from .lake.users import add_user

    home = LakeHome.resolve(args.home)
    state, alive = manager.status(home)
    if state is None or not alive.get("rucio"):
        print(f"The lake in {home.root} is not running. Start it with: odlake lake up")
        return 3
    user = add_user(home, args.name, args.unix_user, args.credential_file)
    owner = f", owned by {user.owner}" if user.owner else ""
    made = "" if user.created else " (there already; nothing changed)"
    print(f"Rucio account '{user.account}' with scope {user.scope} in the lake at {state['rucio']['url']}{made}.")
    print(f"Its password is in {user.credential_file} (mode 0600{owner}); it is not shown.")
    if user.oidc_identity:
        print(f"It signs in at the lake's OpenID Connect provider as '{user.account}' with the same password;")
        print(f"Rucio maps its tokens to the account (OIDC identity '{user.oidc_identity}').")
    return 0


def _print_status(home: LakeHome, state: State, alive: dict[str, bool]) -> None:
    def line(name: str, where: str) -> None:
        mark = "running" if alive.get(name) else "stopped"
        pid = state[name].get("pid")
        print(f"  {name:<9} {mark:<8} {where}" + (f"  (pid {pid})" if pid and alive.get(name) else ""))

    print(f"Lake home:  {home.root}   (--size {state['size']}, --db {state['db']})")
    line("rucio", state["rucio"]["url"])
    if "postgres" in state:
        line("postgres", f"its socket only (no TCP), in {state['postgres']['directory']}")
    if "xrootd" in state:
        xrootd = state["xrootd"]
        where = f"{xrootd['url']} and {xrootd['https_url']}" if "https_url" in xrootd else xrootd["url"]
        line("xrootd", f"{where}  anonymous, read-only -> {xrootd['directory']}")
    if "xrootd-tokens" in state:
        tokens = state["xrootd-tokens"]
        line("xrootd-tokens", f"{tokens['url']} and {tokens['https_url']}  tokens only -> {tokens['directory']}")
    if "memcached" in state:
        line("memcached", f"its socket only (no TCP), {state['memcached']['socket']}")
    if "oidc" in state:
        oidc = state["oidc"]
        line("oidc", f"{oidc['issuer']}  OpenID Connect, access tokens live {oidc['access_token_lifetime']} s")
    for daemon in ("judge-evaluator", "judge-cleaner"):
        if daemon in state:
            line(daemon, "Rucio's daemon (rules follow their datasets' files; deleted rules go)")
    if state.get("registered"):
        print(f"  samples   {state['files']} files, {state['bytes'] / 1e6:.1f} MB in {', '.join(state['containers'])}")
    print(f"  rucio.cfg {state['rucio_cfg']}")
    if "ca" in state:
        print(
            f"  CA        {state['ca']['bundle']}  (trust the lake's TLS endpoints with it; hashed: {state['ca']['certdir']})"
        )
    print(f"Try: RUCIO_CONFIG={state['rucio_cfg']} rucio did list '{state['scope']}:*'")


def _demo(args: argparse.Namespace) -> int:
    from .lake import demo

    return demo.run(LakeHome.resolve(args.home), args.size, args.db, args.port, args.notebook_dir)


def _ipython(args: argparse.Namespace) -> int:
    from .kernel import ipython_startup

    if args.action == "install":
        path = ipython_startup.install(args.profile)
        print(f"%odlake is now loaded in every IPython and kernel of profile '{args.profile}' ({path}).")
    else:
        removed = ipython_startup.uninstall(args.profile)
        print(f"Removed {removed}." if removed else "Nothing to remove: odlake was not installed in that profile.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odlake", description="A Rucio data lake inside JupyterLab.")
    sub = parser.add_subparsers(dest="command", required=True)

    lake = sub.add_parser("lake", help="the embedded Open Data lake (a real Rucio server and XRootD storage)")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)
    home_help = f"lake directory (default: ${HOME_ENV}, else the user data directory)"

    p = lake_sub.add_parser("up", help="start the lake, or make sure it runs")
    p.add_argument("--home", help=home_help)
    p.add_argument("--size", choices=list(SIZES), default="small", help="sample sizes (bench: hundreds of MB per file)")
    p.add_argument(
        "--db",
        choices=["postgresql", "sqlite"],
        default="postgresql",
        help="database of the Rucio server (sqlite: only DID-column metadata is searchable)",
    )
    p.add_argument("--rucio-port", type=int, help="port of the Rucio server (default: a free one)")
    p.add_argument("--storage-port", type=int, help="port of the HTTP storage, XRootD's https (default: a free one)")
    p.add_argument(
        "--db-port",
        type=int,
        help="port number of PostgreSQL's Unix socket (it listens on no TCP port; default: a free one)",
    )
    p.add_argument(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="how long an access token of the lake's OpenID Connect provider lives (default 1200; kept; "
        "a change restarts the provider, which signs everyone out)",
    )
    p.add_argument(
        "--hub-url",
        metavar="URL",
        help="a JupyterHub whose users log in at the lake's OpenID Connect provider (client odlake-hub, "
        "redirect URL/hub/oauth_callback, its secret in <home>/oidc/hub_client_secret; kept)",
    )
    p.set_defaults(func=_lake_up)

    p = lake_sub.add_parser("down", help="stop every process of the lake")
    p.add_argument("--home", help=home_help)
    p.add_argument("--purge", action="store_true", help="also delete the lake's database, samples and files")
    p.set_defaults(func=_lake_down)

    p = lake_sub.add_parser("status", help="tell what runs where")
    p.add_argument("--home", help=home_help)
    p.add_argument("--json", action="store_true", help="print lake.json and what runs, as JSON")
    p.set_defaults(func=_lake_status)

    p = lake_sub.add_parser("user", help="the lake's users: one Rucio account each, as on a hub")
    user_sub = p.add_subparsers(dest="user_command", required=True)
    p = user_sub.add_parser("add", help="a Rucio account NAME with a userpass identity and scope user.NAME")
    p.add_argument("name")
    p.add_argument("--home", help=home_help)
    p.add_argument("--unix-user", help="the Unix user who owns the password file (default file: ~USER/.config/odlake/)")
    p.add_argument(
        "--credential-file", help="where to write the password (default: see --unix-user, else the lake home)"
    )
    p.set_defaults(func=_lake_user_add)

    p = sub.add_parser("cache", help="the download cache")
    cache_sub = p.add_subparsers(dest="cache_command", required=True)
    p = cache_sub.add_parser("verify", help="re-check cached copies in full (adler32); bad ones are removed")
    p.add_argument("dids", nargs="*", metavar="SCOPE:NAME", help="the copies to check (default: all)")
    p.add_argument("--cache-dir", help="the cache (default: ODLAKE_CACHE_DIR, else the user's cache folder)")
    p.set_defaults(func=_cache_verify)

    for name, what, func in (
        ("login", "sign in at an instance's OpenID Connect provider (the device code, in a browser)", _login),
        ("logout", "forget the sign-in to an instance and revoke its refresh token", _logout),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("instance", nargs="?", help="the instance (default: the configured default, else the first)")
        p.add_argument(
            "--state-dir", help="odlake's state directory (default: as the Jupyter server's configuration says)"
        )
        p.set_defaults(func=func)

    p = sub.add_parser("demo", help="start the lake and a JupyterLab wired to it; Ctrl-C stops both")
    p.add_argument("--home", help=home_help)
    p.add_argument("--size", choices=list(SIZES), default="small")
    p.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    p.add_argument("--port", type=int, help="port of JupyterLab (default: a free one)")
    p.add_argument("--notebook-dir", help="directory JupyterLab opens (default: the current one)")
    p.set_defaults(func=_demo)

    p = sub.add_parser("ipython", help="load %%odlake in every kernel of an IPython profile (or stop doing so)")
    p.add_argument("action", choices=["install", "uninstall"])
    p.add_argument("--profile", default="default")
    p.set_defaults(func=_ipython)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func  # each subcommand's set_defaults
    try:
        return command(args)
    except LakeError as e:
        print(f"odlake: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        return 0


if __name__ == "__main__":
    sys.exit(main())
