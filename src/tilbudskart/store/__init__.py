"""The registry store: organisations publish their lists; every version is kept.

Open it with :func:`open_store` (SQLite in ``$TILBUDSKART_STATE_DIR`` by default,
PostgreSQL when ``$TILBUDSKART_DATABASE_URL`` is set). See :mod:`tilbudskart.store.core`.
"""

from tilbudskart.store.core import (
    DATABASE_URL_ENV,
    STATE_DIR_ENV,
    RefusedError,
    Store,
    StoreError,
    Version,
    database_url,
    open_store,
    publishable,
    rows_frame,
    state_dir,
    stored_rows,
)

__all__ = [
    "DATABASE_URL_ENV",
    "STATE_DIR_ENV",
    "RefusedError",
    "Store",
    "StoreError",
    "Version",
    "database_url",
    "open_store",
    "publishable",
    "rows_frame",
    "state_dir",
    "stored_rows",
]
