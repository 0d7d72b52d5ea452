"""What one worker process holds: settings, the database, the engines (the composition root's products)."""

from __future__ import annotations

from dataclasses import dataclass

from service.app.engines import Engines
from service.settings import Settings
from service.storage.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    engines: Engines
