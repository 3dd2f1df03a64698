"""An emergency alert to the whole region: 240,000 residents' inboxes, and the email it queues.

Per backend (SQLite, embedded PostgreSQL): a fresh notifications database, ``aizu seed residents``
(240,000 over the 13 towns by population, ``--email-share`` of them by email to the SMTP sink),
the SMTP sink and the notifications service as their own processes, configured by environment
variables as in production. Each round a council member writes a region-wide emergency alert and
a second one approves it; measured from the approval's reply:

* inbox: until every town's fan-out has finished (every resident holds the message), read from
  the service's own reach counts, then checked by counting the rows;
* email: mails accepted by the sink per second, from this round's first to its last (or until
  ``--drain-seconds`` after the approval);
* peak RSS of the notifications process (VmHWM) over the whole run.

Baseline, same run, same database: a bare ``INSERT … SELECT`` of the 240,000 residents into a
plain table (no indexes, no constraints), so the fan-out time is also given as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nats
from sqlalchemy import text

from bench.harness import Processes, cli, save, wait_for_service
from contracts import broadcasts as b
from contracts.principal import Principal
from contracts.subjects import NOTIFICATIONS
from services.runtime import local_servers
from services.runtime.client import BusClient
from services.notifications.app import MIGRATIONS
from services.runtime.database import create_engine, migrate

MEMBER = Principal(subject="bench-council-1", roles=("council",), tenant="council")
SECOND = Principal(subject="bench-council-2", roles=("council",), tenant="council")
ALERT = b.NewBroadcast(
    kind="emergency", target="region",
    title_ja="【緊急】大雨特別警報（会津地方）", body_ja="命を守る行動をとってください。最新の避難情報を確認してください。",
    title_en="Emergency: heavy rain special warning (Aizu)", body_en="Act now to protect your life. Check the latest evacuation information.",
)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def baseline_seconds(url: str) -> float:
    """A bare set-based copy of every resident into a plain table: the floor for the fan-out."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS bench_plain"))
            await conn.execute(text("CREATE TABLE bench_plain (id VARCHAR(36), recipient VARCHAR(64), title TEXT)"))
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO bench_plain (id, recipient, title) SELECT 'x' || CAST(id AS TEXT), subject, :t FROM residents"
            ), {"t": ALERT.title_ja})
        took = time.perf_counter() - started
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE bench_plain"))
        return took
    finally:
        await engine.dispose()


async def count_inbox(url: str, broadcast_id: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(
                text("SELECT COUNT(*) FROM inbox_messages WHERE event_id = :e"), {"e": broadcast_id}
            )).scalar_one())
    finally:
        await engine.dispose()


def mail_count(directory: Path) -> int:
    return sum(1 for p in directory.glob("*.eml")) if directory.exists() else 0


async def one_round(nats_url: str, observer: str, mail_dir: Path, total: int, emails: int, drain_seconds: float) -> dict[str, float]:
    nc = await nats.connect(nats_url)
    bus = BusClient(nc, 30)
    try:
        mail_before = mail_count(mail_dir)
        draft = await bus.fetch("council", NOTIFICATIONS, b.BROADCAST, ALERT, b.Broadcast, MEMBER)
        await bus.fetch("council", NOTIFICATIONS, b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), b.Broadcast, SECOND)
        started = time.monotonic()
        while True:
            listed = await bus.fetch("council", NOTIFICATIONS, b.BROADCASTS, b.ListBroadcasts(limit=5), b.BroadcastList, MEMBER)
            mine = next(i for i in listed.items if i.id == draft.id)
            if mine.status == "sent":
                break
            if time.monotonic() - started > 300:
                raise TimeoutError(f"fan-out unfinished after 300 s: {mine.reach}")
            await asyncio.sleep(0.2)
        inbox_seconds = time.monotonic() - started
        in_inbox = await count_inbox(observer, draft.id)
        first_mail: float | None = None
        while (mailed := mail_count(mail_dir) - mail_before) < emails and time.monotonic() - started < drain_seconds:
            if mailed and first_mail is None:
                first_mail = time.monotonic()
            await asyncio.sleep(0.1)
        # The drain rate: from the first mail of this round to the last (or to the time limit).
        drain_seconds_taken = time.monotonic() - (first_mail or started)
        return {
            "inbox_seconds": inbox_seconds,
            "inbox_rows": in_inbox,
            "inbox_per_s": in_inbox / inbox_seconds,
            "deliveries_queued": mine.reach.deliveries,
            "emails_received": mailed,
            "email_per_s": mailed / drain_seconds_taken,
            "email_seconds_from_approval": time.monotonic() - started,
            "email_all_drained": float(mailed >= emails),
        }
    finally:
        await nc.close()


def run_backend(
    procs: Processes, name: str, url: str, owner: str, observer: str, args: argparse.Namespace, app_role: str | None = None
) -> dict[str, object]:
    """``url``: the service's (the app role's); ``owner``: migrates and seeds; ``observer``: sees every town."""
    smtp_port = local_servers.free_port()
    mail_dir = procs.scratch / f"mail-{name}"
    env = local_servers.environment(
        AIZU_NATS_URL=procs.nats(),
        AIZU_NOTIFICATIONS_DATABASE_URL=url,
        AIZU_NOTIFICATIONS_MIGRATION_DATABASE_URL=owner,
        AIZU_SMTP_HOST="127.0.0.1",
        AIZU_SMTP_PORT=str(smtp_port),
        AIZU_MAIL_DIR=str(mail_dir),
        AIZU_LOG_LEVEL="WARNING",
    )
    migrate(MIGRATIONS, owner, "head", app_role)
    started = time.monotonic()
    subprocess.run(cli("seed", "residents", "--total", str(args.total), "--email-share", str(args.email_share)),
                   env=env, check=True, capture_output=True)
    seeding = time.monotonic() - started
    emails = int(asyncio.run(_scalar(observer, "SELECT COUNT(*) FROM preferences WHERE channels LIKE 'inbox,email%'")))
    procs.spawn(cli("serve", "smtp-sink"), env, smtp_port, name=f"sink-{name}")
    log = open(procs.scratch / f"notifications-{name}.log", "ab")  # noqa: SIM115
    service = subprocess.Popen(cli("serve", "notifications"), env=env, stdout=log, stderr=subprocess.STDOUT)
    procs.callback(local_servers.stop, service)
    # As soon as its endpoints answer, not once its consumers are bound: an alert approved at
    # that moment must go out all the same.
    wait_for_service(env["AIZU_NATS_URL"], NOTIFICATIONS)
    base = [asyncio.run(baseline_seconds(observer)) for _ in range(args.rounds)]
    try:
        rounds = [asyncio.run(one_round(env["AIZU_NATS_URL"], observer, mail_dir, args.total, emails, args.drain_seconds))
                  for _ in range(args.rounds)]
    except Exception:
        print((procs.scratch / f"notifications-{name}.log").read_text()[-5000:], file=sys.stderr)
        raise
    return {"seeding_seconds": seeding, "emails_per_round": emails, "baseline_seconds": base, "rounds": rounds,
            "peak_rss_mb": peak_rss_mb(service.pid)}


async def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=240_000)
    parser.add_argument("--email-share", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    results: dict[str, dict[str, object]] = {}
    for backend in args.backends.split(","):
        # Each backend with processes of its own, stopped before the next begins.
        with Processes() as procs:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{procs.scratch / 'notifications.db'}"
                results["SQLite"] = run_backend(procs, "sqlite", url, url, url, args)
            else:
                # As in production: owned and migrated by one role, used by a NOBYPASSRLS app role.
                pg = local_servers.EmbeddedPostgres(procs.scratch / "pg")
                procs.callback(pg.stop)
                for role in ("notifications_owner", "notifications_app"):
                    pg.psql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS;")
                pg.psql("CREATE DATABASE notifications OWNER notifications_owner;")
                results["PostgreSQL"] = run_backend(
                    procs, "postgres", pg.url("notifications", user="notifications_app"),
                    pg.url("notifications", user="notifications_owner"), pg.url("notifications"), args, "notifications_app",
                )
    print(f"\n{args.total} residents, {args.email_share:.0%} by email; medians of {args.rounds} rounds:\n")
    print(f"{'':11} {'inbox s':>8} {'rows/s':>8} {'baseline s':>10} {'× base':>7} {'email/s':>8} {'drained':>8} {'peak RSS MB':>11}")
    for name, r in results.items():
        rounds: list[dict[str, float]] = r["rounds"]  # type: ignore[assignment]
        med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0]}
        base = statistics.median(r["baseline_seconds"])  # type: ignore[arg-type]
        print(f"{name:11} {med['inbox_seconds']:8.1f} {med['inbox_per_s']:8.0f} {base:10.2f} "
              f"{med['inbox_seconds'] / base:7.1f} {med['email_per_s']:8.0f} {min(x['email_all_drained'] for x in rounds):8.0f} "
              f"{r['peak_rss_mb']:11.0f}")
    path = save("broadcast", {"args": vars(args), "results": results})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
