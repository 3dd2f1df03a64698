"""Rate limits hold across gateway copies (their state is in NATS), per client address.

Each test calls from an address of its own (``X-Forwarded-For`` from a trusted proxy), so its
counts do not meet other tests' callers at 127.0.0.1.
"""

from __future__ import annotations

import random
import string

import pytest

from gateway.ratelimit import DEFAULTS, RateLimiter
from tests.conftest import UNLIMITED, gateway_client, running_portal

PROXY = {"trusted_proxies": ("127.0.0.1/32",)}


def address() -> str:
    """A documentation address of this test's own (IPv6: room for every run of the suite)."""
    return f"2001:db8:{random.randrange(1, 0xffff):x}:{random.randrange(1, 0xffff):x}::1"


def letters() -> str:
    """Unmatched words without digits (the staff's list masks digits: they may be personal)."""
    return "".join(random.choices(string.ascii_lowercase, k=12))


def limits(**policies: tuple[int, int]) -> dict[str, tuple[int, int]]:
    return {**UNLIMITED, **policies}


async def test_two_gateway_copies_share_one_limit_and_refuse_with_retry_after(region, nats_url):
    caller, other = {"x-forwarded-for": address()}, {"x-forwarded-for": address()}
    settings = {**PROXY, "rate_limits": limits(anonymous_post=(6, 60))}
    async with gateway_client(region, nats_url, **settings) as one, gateway_client(region, nats_url, **settings) as two:
        answers = []
        for n in range(9):  # alternating copies: together, not each, they allow six
            copy = one if n % 2 == 0 else two
            answers.append(await copy.post("/api/v1/verify", json={"token": "x"}, headers=caller))
        statuses = [a.status_code for a in answers]
        assert statuses.count(429) == 3 and 429 not in statuses[:6], statuses
        refused = answers[-1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["retry-after"]) <= 10 and refused.json()["status"] == 429
        # The same /64 is one subscriber: rotating the interface id does not get past the limit.
        neighbour = {"x-forwarded-for": caller["x-forwarded-for"].replace("::1", "::2")}
        assert (await two.post("/api/v1/verify", json={"token": "x"}, headers=neighbour)).status_code == 429
        # Another address is not held back by this one's flood.
        assert (await one.post("/api/v1/verify", json={"token": "x"}, headers=other)).status_code != 429


async def test_anonymous_form_posts_are_limited_per_address(region, nats_url, portal_db):
    caller = {"x-forwarded-for": address()}
    settings = {**PROXY, "rate_limits": limits(anonymous_post=(2, 60))}
    async with running_portal(nats_url, portal_db, region), gateway_client(region, nats_url, **settings) as client:
        page = await client.get("/settings", headers=caller)
        token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
        client.cookies.update(page.cookies)
        posted = [(await client.post("/settings", data={"_csrf_token": token, "lang": "ja"}, headers=caller)).status_code
                  for _ in range(3)]
        assert 429 not in posted[:2] and posted[2] == 429, posted


async def test_sign_in_and_the_token_endpoint_are_limited_per_address(region, nats_url):
    caller = {"x-forwarded-for": address()}
    settings = {**PROXY, "rate_limits": limits(signin=(3, 60), token=(3, 60))}
    async with gateway_client(region, nats_url, **settings) as client:
        logins = [(await client.get("/auth/login", headers=caller)).status_code for _ in range(4)]
        assert logins[:3] != [429] * 3 and logins[3] == 429, logins
        tokens = [(await client.post("/realms/aizu/protocol/openid-connect/token",
                                     data={"grant_type": "client_credentials", "client_id": "aizu-gateway",
                                           "client_secret": "wrong"}, headers=caller)).status_code for _ in range(4)]
        assert tokens[:3] == [401] * 3 and tokens[3] == 429, tokens


async def test_a_flood_of_questions_does_not_bury_the_residents_own(region, nats_url, portal_db):
    flooder, resident = {"x-forwarded-for": address()}, {"x-forwarded-for": address()}
    settings = {**PROXY, "rate_limits": limits(faq_log=(2, 3600))}
    async with running_portal(nats_url, portal_db, region), gateway_client(region, nats_url, **settings) as client:
        for _ in range(5):  # answered searches put nothing on the list and use none of the share
            assert (await client.get("/api/v1/faq", params={"q": "住民票の写しがほしい"}, headers=flooder)).status_code == 200
        spam = [f"zzq{letters()}" for _ in range(6)]
        for question in spam:  # answered (nothing found), but only two of them logged
            assert (await client.get("/api/v1/faq", params={"q": question}, headers=flooder)).status_code == 200
        paged = f"zzq{letters()}"  # the portal's own FAQ page shares the address's budget
        assert (await client.get("/faq", params={"q": paged}, headers=flooder)).status_code == 200
        spam.append(paged)
        own = f"qxv{letters()}"
        assert (await client.get("/api/v1/faq", params={"q": own}, headers=resident)).status_code == 200
        listed = (await client.get("/api/v1/faq/unanswered", headers=client.as_user("kitakata.caseworker"))).json()
        logged = {item["question"] for item in listed["items"]}
        assert own in logged and len(logged & set(spam)) == 2, (own, logged & set(spam))


def test_an_unknown_policy_in_the_settings_stops_the_start():
    with pytest.raises(ValueError, match="no rate-limit policy named fqa"):
        RateLimiter({"fqa": (1, 60)})
    assert set(DEFAULTS) >= {"signin", "token", "anonymous_post", "faq", "faq_log"}


async def test_a_limit_lets_requests_through_when_its_bucket_cannot_be_reached(nats_url):
    """Failing closed would make a NATS hiccup stop every sign-in."""
    import nats as nats_client

    nc = await nats_client.connect(nats_url)
    limiter = RateLimiter({"faq": (1, 60)})
    await limiter.open(nc.jetstream())
    key = address()
    await limiter.take("faq", key)
    await nc.close()  # the bucket is now out of reach
    await limiter.take("faq", key)  # over the limit, but not checkable: let through
