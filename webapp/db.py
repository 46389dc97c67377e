"""Database access: the app engine (restricted role), the admin engine (table owner), the
per-request session, and binding the tenant to every transaction.

Row-level security does the isolating; this module only makes sure each transaction says which
business it works for, with `set_config(..., true)` so the setting dies with the transaction and
a pooled connection can never carry one business's id into another's request.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import current_app, g
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from webapp.config import require

EXTENSION_KEY = "shopcredit.db"
TENANT_KEY = "business_id"

BIND_TENANT = text("SELECT set_config('app.business_id', :business_id, true)")


class UnsafeDatabaseRole(RuntimeError):
    """The app's database role could read around row-level security."""


# A function of ours that runs as its owner (SECURITY DEFINER) owned by a role that row-level
# security does not hold back: what a restore by a superuser with --no-owner leaves behind.
SUPERUSER_DEFINERS = text(
    """SELECT p.proname, r.rolname
         FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
         JOIN pg_roles r ON r.oid = p.proowner
        WHERE n.nspname = 'public' AND p.prosecdef AND (r.rolsuper OR r.rolbypassrls)
        ORDER BY p.proname
        LIMIT 1"""
)


def sqlalchemy_url(url: str) -> str:
    """Accept the libpq URLs operators write; SQLAlchemy needs the driver named."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("database URLs must start with postgresql://")


# A sale that waits this long for another till's locks gives up with "busy, try again".
LOCK_TIMEOUT = "5s"
LOCK_NOT_AVAILABLE = "55P03"  # the SQLSTATE of a wait longer than the lock timeout
UNIQUE_VIOLATION = "23505"

T = TypeVar("T")
P = ParamSpec("P")


def _keep_the_pool(context: ExceptionContext) -> None:
    """A dropped connection (a killed backend) is replaced alone; by default SQLAlchemy would
    throw away every pooled connection, and every till would reconnect and re-plan the ledger
    functions. The pre-ping still finds the others dead after a real server restart."""
    if context.is_disconnect:
        context.invalidate_pool_on_disconnect = False


def make_engine(url: str, **options: Any) -> Engine:
    engine = create_engine(
        sqlalchemy_url(url),
        # A connection the server dropped (restart, failover, killed backend) is replaced
        # instead of failing the next request.
        pool_pre_ping=True,
        # An error's text never carries the values sent (customers' names, phones): logs and
        # tracebacks show the statement with its placeholders only.
        hide_parameters=True,
        connect_args={
            "application_name": "shopcredit",
            "connect_timeout": 5,
            "options": f"-c lock_timeout={LOCK_TIMEOUT}",
        },
        **options,
    )
    event.listen(engine, "handle_error", _keep_the_pool)
    return engine


def _bind_tenant_on_begin(session: Session, _tx: SessionTransaction, conn: Connection) -> None:
    business_id = session.info.get(TENANT_KEY)
    if business_id is not None:
        conn.execute(BIND_TENANT, {"business_id": str(business_id)})


class Database:
    """The app's engine (DATABASE_URL) and the owner's (DATABASE_ADMIN_URL), each made when
    first used: an admin command needs only the owner's URL, the web app only the app role's,
    and the one missing is named in one sentence (`config.require`) when it is needed."""

    def __init__(self, app_url: str | None, admin_url: str | None, **pool: Any) -> None:
        self.app_url = app_url
        self.admin_url = admin_url
        # The app engine's pool: 10 connections and 10 more at a push, unless told otherwise.
        self.pool = {"pool_size": 10, "max_overflow": 10, "pool_timeout": 10, **pool}
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._admin_engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            url = require({"DATABASE_URL": self.app_url}, "DATABASE_URL")
            self._engine = make_engine(url, **self.pool)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
            event.listen(self._sessions, "after_begin", _bind_tenant_on_begin)
        return self._sessions

    @property
    def admin_engine(self) -> Engine:
        if self._admin_engine is None:
            url = require({"DATABASE_ADMIN_URL": self.admin_url}, "DATABASE_ADMIN_URL")
            self._admin_engine = make_engine(url, pool_size=2)
        return self._admin_engine

    def check_app_role(self) -> None:
        """Refuse to serve through a role that row-level security would not hold back."""
        with self.engine.connect() as conn:
            role = conn.execute(
                text(
                    """SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                              EXISTS (SELECT 1 FROM pg_tables t
                                      WHERE t.schemaname = 'public'
                                        AND pg_has_role(r.oid, t.tableowner, 'USAGE'))
                                  AS owns_tables
                       FROM pg_roles r WHERE r.rolname = current_user"""
                )
            ).one()
        problem = (
            "is a superuser"
            if role.rolsuper
            else "has BYPASSRLS"
            if role.rolbypassrls
            else "owns the tables (or is a member of their owner)"
            if role.owns_tables
            else None
        )
        if problem:
            raise UnsafeDatabaseRole(
                f"The app's database role {role.rolname!r} {problem}, so row-level security would "
                "not isolate businesses; set DATABASE_URL to the restricted app role "
                "(a member of shopcredit_app) and use DATABASE_ADMIN_URL for the owner."
            )
        with self.engine.connect() as conn:
            definer = conn.execute(SUPERUSER_DEFINERS).first()
        if definer is not None:
            raise UnsafeDatabaseRole(
                f"The function {definer.proname} runs as {definer.rolname!r} (SECURITY DEFINER), "
                "which row-level security does not hold back: the database was restored by a "
                "superuser; restore it as the role that owns ShopCredit's tables (README, "
                "Backup and restore)."
            )

    @contextmanager
    def transaction(self, business_id: uuid.UUID | None) -> Iterator[Session]:
        """One committed unit of work as the app role, bound to `business_id`."""
        with self.sessions() as session:
            session.info[TENANT_KEY] = business_id
            with session.begin():
                yield session

    @contextmanager
    def admin_transaction(self) -> Iterator[Session]:
        """One committed unit of work as the owner (CLI and migrations only: no RLS)."""
        with Session(self.admin_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._admin_engine is not None:
            self._admin_engine.dispose()


def get_db() -> Database:
    database: Database = current_app.extensions[EXTENSION_KEY]
    return database


def db_session() -> Session:
    """The request's session as the app role; the tenant is bound once the user is known."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    session: Session = g.db_session
    return session


def bind_tenant(session: Session, business_id: uuid.UUID) -> None:
    """Work for `business_id` from now on, including in a transaction already open."""
    session.info[TENANT_KEY] = business_id
    if session.in_transaction():
        session.execute(BIND_TENANT, {"business_id": str(business_id)})


def close_db_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back whatever the view did not commit


def sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def constraint_name(error: DBAPIError) -> str | None:
    """The constraint or unique index a refused write broke (None for other errors)."""
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


@contextmanager
def committed(session: Session) -> Iterator[Session]:
    """One unit of work of a service function: committed when the block ends, rolled back when
    it raises. Views never commit or roll back themselves."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def unit_of_work(
    change: Callable[Concatenate[Session, P], T],
) -> Callable[Concatenate[Session, P], T]:
    """A service function (its first argument the session) as one committed unit of work."""

    def run(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with committed(session):
            return change(session, *args, **kwargs)

    functools.update_wrapper(run, change)  # its name, docstring, and __wrapped__ (uncommitted)
    return run
