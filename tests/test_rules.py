"""Making data available with replication rules, against the real demo lake (which has no
transfer service: a rule that needs a copy stays REPLICATING, and says why)."""

from __future__ import annotations

import time

import pytest
from test_upload import user_instance

from jupyterlab_odlake.core import DID
from jupyterlab_odlake.core.errors import AccessDenied, InvalidRequest, NotFound
from jupyterlab_odlake.core.rucio.rules import MAX_LIFETIME_DAYS, checked_id, lifetime_seconds
from jupyterlab_odlake.lake.home import USERDISK_RSE


async def test_a_rule_where_the_data_is_is_ok_at_once_and_one_needing_a_copy_waits(api, lake):
    status, here = await api(
        "rules", method="POST", body={"did": "opendata:GamGam.MC", "rse_expression": "ODLAKE_HTTP|ODLAKE_XROOTD"}
    )
    assert status == 201, here
    assert here["state"] == "OK" and here["locks_ok"] == here["locks_total"] == 5, here
    status, far = await api(
        "rules", method="POST", body={"did": "opendata:4lep.MC", "rse_expression": USERDISK_RSE, "lifetime_days": 1}
    )
    assert status == 201 and far["state"] == "REPLICATING" and far["locks_ok"] == 0, far
    assert "waiting for the lake's transfer service" in far["explained"] and far["expires_at"]
    status, listed = await api("rules")
    ids = [r["id"] for r in listed["rules"]]
    assert here["id"] in ids and far["id"] in ids
    # asked again: the same rule exists; said in a sentence
    status, again = await api(
        "rules", method="POST", body={"did": "opendata:4lep.MC", "rse_expression": USERDISK_RSE, "lifetime_days": 1}
    )
    assert status == 400 and "has such a rule already" in again["message"]
    for rule in (here, far):
        status, gone = await api("rules", rule["id"], method="DELETE")
        assert status == 200 and gone["deleted"]
    # Rucio keeps a deleted rule for an hour (it expires then), and its judge-cleaner removes it
    status, listed = await api("rules")
    expiring = {r["id"]: r["expires_at"] for r in listed["rules"] if r["id"] in (here["id"], far["id"])}
    assert len(expiring) == 2 and all(expiring.values()), expiring


def test_an_expired_rule_is_removed_by_the_lakes_judge_cleaner(lake, rucio_client):
    [rule_id] = rucio_client.add_replication_rule(
        [{"scope": "opendata", "name": "1lep.Data"}], 1, "ODLAKE_XROOTD|ODLAKE_HTTP", lifetime=1
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if rule_id not in {r["id"] for r in rucio_client.list_replication_rules({"account": "root"})}:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the expired rule was not removed")


def test_a_rule_on_a_dataset_follows_the_files_attached_to_it_later(lake, rucio_client):
    """Rucio's judge-evaluator, run by the lake, gives the rule a lock for each file attached later."""
    rucio_client.add_dataset("opendata", "growing.results")
    [rule_id] = rucio_client.add_replication_rule([{"scope": "opendata", "name": "growing.results"}], 1, "ODLAKE_HTTP")
    rucio_client.attach_dids("opendata", "growing.results", [{"scope": "opendata", "name": "data_A.GamGam.root"}])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rule = rucio_client.get_replication_rule(rule_id)
        if rule["locks_ok_cnt"] == 1:
            break
        time.sleep(0.5)
    assert rule["locks_ok_cnt"] == 1 and rule["state"] == "OK", rule


async def test_bad_requests_for_a_rule_are_said(api, lake):
    status, body = await api("rules", method="POST", body={"did": "opendata:no-such", "rse_expression": "ODLAKE_HTTP"})
    assert status == 404 and "no such DID" in body["message"]
    status, body = await api("rules", method="POST", body={"did": "opendata:GamGam.MC", "rse_expression": "NOWHERE"})
    assert status == 400 and "NOWHERE" in body["message"]
    status, body = await api("rules", method="POST", body={"did": "opendata:GamGam.MC", "rse_expression": " "})
    assert status == 400 and "Name the RSE" in body["message"]


def test_a_user_sees_only_their_own_rules_and_is_told_who_may_delete_them(lake, tmp_path, rucio_client):
    rita = user_instance(lake, tmp_path, "rita")
    mine = rita.replicate(DID("opendata", "GamGam.Data"), USERDISK_RSE)
    assert mine.account == "rita" and mine.state == "REPLICATING"
    assert [r.id for r in rita.rules()] == [mine.id]  # the lake's own rules (root's) are not hers
    roots = next(iter(rucio_client.list_replication_rules({"account": "root"})))
    # the lake runs Rucio's generic policy: only administrators delete rules, a user's own too
    for rule_id in (roots["id"], mine.id):
        with pytest.raises(AccessDenied, match="does not let account 'rita' delete rule"):
            rita.delete_rule(rule_id)
        assert rucio_client.get_replication_rule(rule_id)["expires_at"] is None
    rucio_client.delete_replication_rule(mine.id)  # as the lake's administrator
    # a rule that does not exist is "no such rule" to her too, not Rucio's refusal to let her delete
    with pytest.raises(NotFound, match="no such rule"):
        rita.delete_rule("0" * 32)


@pytest.mark.parametrize("days", [float("nan"), float("inf"), 1e308, 1e309, 10**30, 2**63, 0, -1, True, "3"])
def test_a_lifetime_rucio_could_not_keep_is_refused_in_a_sentence(days):
    with pytest.raises(InvalidRequest, match="A lifetime is"):
        lifetime_seconds(days)


def test_a_lifetime_is_counted_in_rucios_seconds():
    assert (lifetime_seconds(None), lifetime_seconds(1), lifetime_seconds(0.5)) == (None, 86400, 43200)
    assert lifetime_seconds(MAX_LIFETIME_DAYS) == MAX_LIFETIME_DAYS * 86400


@pytest.mark.parametrize("rule_id", ["", "3f2a", "../x", "0" * 33, "g" * 32, "'; drop", "0" * 31 + "\0"])
def test_a_malformed_rule_id_is_refused_before_rucio_is_asked(rule_id):
    with pytest.raises(InvalidRequest, match="is not a rule id"):
        checked_id(rule_id)


async def test_rucio_is_never_asked_for_an_impossible_rule_and_an_unknown_one_is_not_found(api, lake):
    for days in ("NaN", "Infinity", "1e309", "1e308", str(10**30)):
        status, answer = await api(
            "rules",
            method="POST",
            body=f'{{"did": "opendata:GamGam.MC", "rse_expression": "ODLAKE_HTTP", "lifetime_days": {days}}}'.encode(),
        )
        assert status == 400 and answer["message"].startswith("A lifetime is"), (days, answer)
    status, answer = await api("rules", "0" * 32, method="DELETE")
    assert status == 404 and "no such rule" in answer["message"], answer
    status, answer = await api("rules", "3f2a", method="DELETE")  # hexadecimal, but too short
    assert status == 400 and "is not a rule id" in answer["message"], answer


async def test_asking_for_a_rule_never_holds_up_the_server(api, lake, monkeypatch):
    """While Rucio works on a rule (held here until another request has had its answer), the
    server answers: the rule is made off the event loop. The older extension's blocked it."""
    import asyncio
    import threading

    from jupyterlab_odlake.core.rucio.instance import Instance

    in_rucio, answered = threading.Event(), threading.Event()
    make = Instance.replicate

    def held_replicate(self, *args, **kwargs):
        in_rucio.set()
        if not answered.wait(30):
            raise AssertionError("no other request was answered while the rule was being made")
        return make(self, *args, **kwargs)

    monkeypatch.setattr(Instance, "replicate", held_replicate)
    body = {"did": "opendata:GamGam.Data", "rse_expression": "ODLAKE_HTTP|ODLAKE_LOCAL"}
    rule = asyncio.ensure_future(api("rules", method="POST", body=body))
    for _ in range(600):
        if in_rucio.is_set() or rule.done():
            break
        await asyncio.sleep(0.05)
    assert in_rucio.is_set() and not rule.done()
    status, _ = await api("info")  # answered while the rule is still being made
    assert status == 200
    answered.set()
    status, made = await rule
    assert status == 201 and made["state"] == "OK", made
    await api("rules", made["id"], method="DELETE")
