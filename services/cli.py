"""The ``aizu`` command: check configuration, export contracts, migrate, seed, serve, develop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from contracts.tenants import ConfigError, Region, load_region
from services.runtime.settings import RuntimeSettings, SettingsError


def _region(args: argparse.Namespace) -> Region:
    return load_region(Path(args.dir) if args.dir else args.settings.tenants)


def cmd_tenants_check(args: argparse.Namespace) -> int:
    region = _region(args)
    print(f"ok: {len(region.towns)} towns, the council, {len(region.catalog.procedures)} standard procedures")
    for town in region.towns:
        print(f"  {town.slug:<14} {town.code}  {town.name_ja}  ({len(town.procedures)} procedures)")
    return 0


def cmd_contracts_export(args: argparse.Namespace) -> int:
    from contracts.export import SCHEMA_DIR, export

    written = export(Path(args.out) if args.out else SCHEMA_DIR)
    print(f"wrote {len(written)} schemas to {written[0].parent if written else args.out}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.runner import MIGRATIONS
    from services.runtime.database import migrate

    for name in args.services or sorted(MIGRATIONS):
        migrate(MIGRATIONS[name], args.settings.database_url(name, migration=True))
        print(f"migrated {name}")
    return 0


def cmd_seed_residents(args: argparse.Namespace) -> int:
    """Stands in for the towns' import of their resident registers (development, benchmarks)."""
    from services.notifications.broadcasts.residents import seed
    from services.runtime.database import create_engine, session_factory

    region = _region(args)

    async def run() -> dict[str, int]:
        engine = create_engine(args.settings.database_url("notifications", migration=True))
        try:
            async with session_factory(engine)() as session:
                return await seed(session, region, args.total, args.email_share)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    print(f"seeded {sum(counts.values())} residents in {len(counts)} towns")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    if getattr(args, "what", "catalog") == "residents":
        return cmd_seed_residents(args)
    from services.procedures.seed import seed_catalog
    from services.runtime.database import create_engine, session_factory

    region = _region(args)

    async def run() -> int:
        engine = create_engine(args.settings.database_url("procedures", migration=True))
        try:
            async with session_factory(engine)() as session:
                return await seed_catalog(session, region)
        finally:
            await engine.dispose()

    print(f"seeded {asyncio.run(run())} offered procedures for {len(region.towns)} towns")
    if args.settings.development:
        print(f"imported {asyncio.run(_import_demo_residents(args.settings, region))} demo residents into the towns' directories")
    return 0


async def _import_demo_residents(settings: RuntimeSettings, region: Region) -> int:
    """Development: the issuer's demo residents are residents of their towns (alerts reach them)."""
    from gateway.devissuer.users import demo_residents
    from gateway.devissuer.settings import IssuerSettings
    from services.notifications.broadcasts.residents import import_people
    from services.runtime.database import create_engine, session_factory

    engine = create_engine(settings.database_url("notifications", migration=True))
    try:
        async with session_factory(engine)() as session:
            return await import_people(session, demo_residents(region, IssuerSettings.from_env().issuer_url))
    finally:
        await engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    if args.component == "gateway":
        from gateway.serve import serve_gateway

        from gateway.settings import GatewaySettings

        settings = GatewaySettings.from_env()
        serve_gateway(settings, load_region(Path(args.dir) if args.dir else settings.tenants))
        return 0
    if args.component == "smtp-sink":
        from services.notifications.channels.smtp_sink import serve_sink

        asyncio.run(serve_sink())
        return 0
    if args.component == "psp":
        from services.psp_standin.server import serve_psp

        asyncio.run(serve_psp())
        return 0
    from services.runner import serve_service

    _use_uvloop()
    asyncio.run(serve_service(args.component))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from services.procedures.chain import verify
    from services.runtime.database import create_engine, session_factory
    from services.runtime.rls import use_tenant

    region = _region(args)
    towns = [args.town] if args.town else [t.slug for t in region.towns]
    if args.town and region.town(args.town) is None:
        print(f"unknown town {args.town!r}", file=sys.stderr)
        return 2

    async def run() -> list:
        engine = create_engine(args.settings.database_url("procedures", migration=True))
        try:
            async with session_factory(engine)() as session:
                reports = []
                for town in towns:
                    await use_tenant(session, town)  # row-level security binds the owner too
                    reports.append(await verify(session, town))
                return reports
        finally:
            await engine.dispose()

    broken = 0
    for report in asyncio.run(run()):
        if report.intact:
            print(f"{report.tenant}: intact, {report.links} links, {report.unsealed} not yet sealed")
        else:
            broken += 1
            print(f"{report.tenant}: BROKEN at link {report.broken_at}: {report.reason}")
    return 1 if broken else 0


def cmd_keycloak_realm(args: argparse.Namespace) -> int:
    from gateway.keycloak_realm import render, write

    region = _region(args)
    if args.out:
        print(f"wrote {write(args.out, region, with_demo_users=args.with_demo_users)}")
    else:
        sys.stdout.write(render(region, with_demo_users=args.with_demo_users))
    return 0


def cmd_dev_token(args: argparse.Namespace) -> int:
    from gateway.devissuer import IssuerUnavailable, dev_token

    try:
        print(dev_token(_region(args), args.username, client_id=args.client))
    except (IssuerUnavailable, KeyError) as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from services.devstack import DevSettings, run_dev

    return run_dev(_region(args), DevSettings.from_env(), postgres=args.postgres)


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is absent on Windows only
        return
    uvloop.install()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aizu", description="Aizu shared-services platform")
    p.add_argument("--dir", help="tenants directory (default: tenants/ or $AIZU_TENANTS_DIR)")
    sub = p.add_subparsers(dest="command", required=True)

    tenants = sub.add_parser("tenants", help="municipality configuration").add_subparsers(dest="action", required=True)
    tenants.add_parser("check", help="validate tenants/ as start-up does").set_defaults(func=cmd_tenants_check)

    contracts = sub.add_parser("contracts", help="bus message contracts").add_subparsers(dest="action", required=True)
    export = contracts.add_parser("export", help="write JSON Schema for every message")
    export.add_argument("--out", help="directory (default: contracts/schema)")
    export.set_defaults(func=cmd_contracts_export)

    migrate = sub.add_parser("migrate", help="apply each service's database migrations")
    migrate.add_argument("services", nargs="*", help="services to migrate (default: all)")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="write each town's catalog from tenants/ (or: seed residents)")
    seed.add_argument("what", nargs="?", choices=["catalog", "residents"], default="catalog",
                      help="residents: synthetic residents directory, standing in for the towns' import")
    seed.add_argument("--total", type=int, default=240_000, help="residents over all towns, by population")
    seed.add_argument("--email-share", type=float, default=0.05, help="share of residents reached by email")
    seed.set_defaults(func=cmd_seed)

    serve = sub.add_parser("serve", help="run one component, configured by environment variables")
    serve.add_argument("component", choices=["gateway", "procedures", "notifications", "portal", "insights", "smtp-sink", "psp"],
                       help="smtp-sink and psp: development stand-ins for the towns' mail relay and the payment provider")
    serve.set_defaults(func=cmd_serve)

    audit = sub.add_parser("audit", help="tamper evidence").add_subparsers(dest="action", required=True)
    verify = audit.add_parser("verify", help="check a town's hash chain of status changes")
    verify.add_argument("town", nargs="?", help="town slug (default: every town)")
    verify.set_defaults(func=cmd_audit_verify)

    keycloak = sub.add_parser("keycloak", help="Keycloak, the production identity provider")
    realm = keycloak.add_subparsers(dest="action", required=True).add_parser(
        "realm", help="the realm import file generated from tenants/ (standard output unless --out)"
    )
    realm.add_argument("--out", help="write the file here, e.g. deploy/keycloak/aizu-realm.json")
    realm.add_argument("--with-demo-users", action="store_true", help="add the demo users (staging only; never commit)")
    realm.set_defaults(func=cmd_keycloak_realm)

    dev = sub.add_parser("dev", help="run everything locally: NATS, databases, services, gateway")
    dev.add_argument("--postgres", action="store_true", help="use the embedded PostgreSQL instead of SQLite")
    dev.set_defaults(func=cmd_dev)
    token = dev.add_subparsers(dest="dev_action").add_parser("token", help="print an access token for a demo user")
    token.add_argument("username", help="e.g. kitakata.resident, kitakata.caseworker, council.member")
    token.add_argument("--client", default="aizu-cli")
    token.set_defaults(func=cmd_dev_token)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        # The command's own settings; a service it serves reads its whole settings when it starts.
        args.settings = RuntimeSettings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.settings.log_level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every run
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"configuration error: {exc.file}: {exc.field}: {exc.reason}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
