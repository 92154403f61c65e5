"""Making data available: replication rules of the user's own account, through rucio-clients.

A rule asks Rucio to keep copies of a DID on the RSEs an expression names. On an RSE that
holds the data already it is OK at once; otherwise Rucio's transfer service (the conveyor,
with FTS) makes the copies and the rule stays REPLICATING until it has. A lake without one
(the demo lake has no FTS) never completes such a rule: the state says so in words.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..did import DID
from ..errors import AccessDenied, InvalidRequest, quoted
from ..records import Rule
from .connection import Connection

# Rucio counts a rule's lifetime in seconds from now into a date (its dates end at year 9999); a rule
# meant to outlive a century is one without a lifetime
MAX_LIFETIME_DAYS = 36_500
_RULE_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def lifetime_seconds(lifetime_days: float | None) -> int | None:
    """A rule's lifetime in Rucio's seconds; None: no end. A lifetime Rucio could not keep is refused."""
    if lifetime_days is None:
        return None
    if (
        isinstance(lifetime_days, bool)
        or not isinstance(lifetime_days, (int, float))
        or not math.isfinite(lifetime_days)
    ):
        raise InvalidRequest("A lifetime is a number of days; give none for a rule without end.")
    if not 0 < lifetime_days <= MAX_LIFETIME_DAYS:
        raise InvalidRequest(
            f"A lifetime is more than 0 and at most {MAX_LIFETIME_DAYS:,} days (100 years); give none for a rule "
            "without end."
        )
    return max(1, round(lifetime_days * 86400))


def checked_id(rule_id: str) -> str:
    """A rule id as Rucio writes them (32 hex digits, or a UUID with dashes); else a clear refusal."""
    if not _RULE_ID.fullmatch(rule_id):
        raise InvalidRequest(f"'{quoted(rule_id, 40)}' is not a rule id (32 hexadecimal digits); see your rules.")
    return rule_id


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
    lifetime = lifetime_seconds(lifetime_days)
    account = connection.config.account
    ids = connection.call(
        lambda c: c.add_replication_rule(
            [{"scope": did.scope, "name": did.name}], 1, rse_expression, lifetime=lifetime, account=account
        ),
        f"asking for {did} on '{quoted(rse_expression, 80)}'",
    )
    return rule(connection, ids[0])


def rule(connection: Connection, rule_id: str) -> Rule:
    rule_id = checked_id(rule_id)
    return rule_of(connection.call(lambda c: c.get_replication_rule(rule_id), f"reading rule {rule_id}"))


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
    rules, even a user's own; ATLAS's lets owners. A rule that does not exist is "no such rule" to
    everyone (Rucio's own answer to a user who may not delete rules would be a refusal).
    """
    rule(connection, rule_id)  # an unknown (or malformed) id stops here, whoever asks
    try:
        connection.call(lambda c: c.delete_replication_rule(rule_id), f"deleting rule {rule_id}")
    except AccessDenied:
        raise AccessDenied(
            f"Rucio's policy on instance '{connection.config.name}' does not let account "
            f"'{connection.config.account}' delete rule {rule_id}; ask the lake's administrators, or give "
            "your next rules a lifetime so that they end by themselves."
        ) from None
