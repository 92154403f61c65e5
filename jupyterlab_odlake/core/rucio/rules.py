"""Making data available: replication rules of the user's own account, through rucio-clients.

A rule asks Rucio to keep copies of a DID on the RSEs an expression names. On an RSE that
holds the data already it is OK at once; otherwise Rucio's transfer service (the conveyor,
with FTS) makes the copies and the rule stays REPLICATING until it has. A lake without one
(the demo lake has no FTS) never completes such a rule: the state says so in words.
"""

from __future__ import annotations

from typing import Any

from ..did import DID
from ..errors import AccessDenied, InvalidRequest, quoted
from ..records import Rule
from .connection import Connection


def rule_of(r: dict[str, Any]) -> Rule:
    """A rule as Rucio describes it (``get_replication_rule``, ``list_replication_rules``)."""
    expires = r.get("expires_at")
    locks = [int(r.get(k) or 0) for k in ("locks_ok_cnt", "locks_replicating_cnt", "locks_stuck_cnt")]
    return Rule(
        id=str(r["id"]),
        did=f"{r['scope']}:{r['name']}",
        rse_expression=str(r["rse_expression"]),
        state=str(r["state"]).upper(),
        locks_ok=locks[0],
        locks_total=sum(locks),
        expires_at=str(expires) if expires else None,
        account=str(r.get("account")),
    )


def replicate(connection: Connection, did: DID, rse_expression: str, lifetime_days: float | None = None) -> Rule:
    """A rule of the instance's account keeping one copy of ``did`` on ``rse_expression``."""
    if not rse_expression.strip():
        raise InvalidRequest("Name the RSE (or an RSE expression) to make the data available on.")
    if lifetime_days is not None and lifetime_days <= 0:
        raise InvalidRequest("A lifetime is a positive number of days.")
    lifetime = int(lifetime_days * 86400) if lifetime_days else None
    account = connection.config.account
    ids = connection.call(
        lambda c: c.add_replication_rule(
            [{"scope": did.scope, "name": did.name}], 1, rse_expression, lifetime=lifetime, account=account
        ),
        f"asking for {did} on '{quoted(rse_expression, 80)}'",
    )
    return rule(connection, ids[0])


def rule(connection: Connection, rule_id: str) -> Rule:
    return rule_of(connection.call(lambda c: c.get_replication_rule(rule_id), f"reading rule {quoted(rule_id)}"))


def rules(connection: Connection) -> list[Rule]:
    """The rules of the instance's account, newest first."""
    account = connection.config.account
    listed = connection.call(
        lambda c: list(c.list_replication_rules({"account": account})), f"listing the rules of {account}"
    )
    return [rule_of(r) for r in sorted(listed, key=lambda r: str(r.get("created_at")), reverse=True)]


def delete(connection: Connection, rule_id: str) -> None:
    """Delete a rule: Rucio marks it expired at once, and its judge-cleaner daemon removes it and its locks.

    Who may is Rucio's policy: its generic one (the demo lake's) lets only administrators delete
    rules, even a user's own; ATLAS's lets owners.
    """
    try:
        connection.call(lambda c: c.delete_replication_rule(rule_id), f"deleting rule {quoted(rule_id)}")
    except AccessDenied:
        raise AccessDenied(
            f"Rucio's policy on instance '{connection.config.name}' does not let account "
            f"'{connection.config.account}' delete rule {quoted(rule_id)}; ask the lake's administrators, or give "
            "your next rules a lifetime so that they end by themselves."
        ) from None
