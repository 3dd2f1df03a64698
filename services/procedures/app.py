"""The procedures service assembled: its endpoints, database and migrations."""

from __future__ import annotations

from pathlib import Path

from services.procedures import catalog
from services.runtime.service import ServiceApp

NAME = "procedures"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(catalog_max_age: float | None = None) -> ServiceApp:
    """``catalog_max_age``: seconds a town's catalog is kept in memory (None: from the environment)."""
    app = ServiceApp(NAME, VERSION, "Each town's procedures, applications and workflow")
    catalog.register(app, catalog_max_age)
    return app
