"""Database access: the app engine (restricted role), the admin engine (table owner), the
per-request session, and binding the tenant to every transaction.

Row-level security does the isolating; this module only makes sure each transaction says which
business it works for. Every transaction of the app role starts with one round trip,
`BEGIN; SET LOCAL app.business_id = '…'; SET LOCAL lock_timeout = '5s'` (the business empty
when none is known yet): transaction-scoped, so the settings die at COMMIT and neither a pooled
connection nor a server connection that PgBouncer (transaction mode) hands to another client can
carry one business's id into another's work — and bound afresh each time, so not even a
session-level value some other client left on a server connection is ever seen. SET LOCAL
rather than set_config(): Citus propagates SET LOCAL to its workers (docs/SCALING.md). Nothing
is sent as a startup parameter and nothing is prepared on the server (`prepare_threshold=None`),
both of which a pooler in transaction mode refuses or breaks.
"""

from __future__ import annotations

import functools
import select
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from flask import current_app, g
from psycopg import pq
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from webapp.config import require

EXTENSION_KEY = "shopcredit.db"
TENANT_KEY = "business_id"
READ_ONLY_KEY = "read_only"


class DatabaseRoleProblem(RuntimeError):
    """The app's database role cannot serve; the message says why in one sentence."""


class UnsafeDatabaseRole(DatabaseRoleProblem):
    """The app's database role could read around row-level security."""


# webapp/ledger.py confirms each ledger call is on disk with this function (a default grant to
# PUBLIC, which a host could have taken away): without it every sale would be recorded and then
# answered with an error.
# (Its text form: three arguments up to PostgreSQL 16, a fourth with a default since 17.)
EMITS_TEXT = """FROM pg_proc p
                WHERE p.pronamespace = 'pg_catalog'::regnamespace
                  AND p.proname = 'pg_logical_emit_message'
                  AND p.proargtypes[2] = 'text'::regtype"""
MAY_CONFIRM_COMMITS = text(
    f"SELECT coalesce(bool_or(has_function_privilege(p.oid, 'EXECUTE')), false) {EMITS_TEXT}"
)


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
# Admin commands (owner role) wait as long before giving up too.
ADMIN_BINDING = f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
LOCK_NOT_AVAILABLE = "55P03"  # the SQLSTATE of a wait longer than the lock timeout
UNIQUE_VIOLATION = "23505"

T = TypeVar("T")
P = ParamSpec("P")


def _keep_the_pool(context: ExceptionContext) -> None:
    """A dropped connection (a killed backend) is replaced alone; by default SQLAlchemy would
    throw away every pooled connection, and every till would reconnect and re-plan the ledger
    functions. The checkout check still finds the others dead after a real server restart."""
    if context.is_disconnect:
        context.invalidate_pool_on_disconnect = False


def _replace_if_dropped(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: a connection the server dropped while it sat in the pool (a restart, a
    failover, a killed backend) is replaced instead of failing the request that gets it. The
    server says so before closing (a FATAL message, then end of file), so an idle connection
    with anything to read is gone: seen without a round trip, where pool_pre_ping would send a
    SELECT 1 before every request. (A connection cut without a word, by a network partition,
    fails its request, which answers "try again", and is replaced.)"""
    conn: psycopg.Connection[Any] = dbapi_connection
    if conn.closed or conn.broken:
        raise DisconnectionError("closed")
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError) as error:
        raise DisconnectionError("no socket") from error
    if readable:
        raise DisconnectionError("the server closed it")


def make_engine(url: str, **options: Any) -> Engine:
    engine = create_engine(
        sqlalchemy_url(url),
        # An error's text never carries the values sent (customers' names, phones): logs and
        # tracebacks show the statement with its placeholders only.
        hide_parameters=True,
        connect_args={
            "application_name": "shopcredit",
            "connect_timeout": 5,
            # No server-side prepared statements: behind PgBouncer in transaction mode the next
            # transaction may run on another server connection, where a statement prepared here
            # does not exist (or one of the same name does).
            "prepare_threshold": None,
        },
        **options,
    )
    event.listen(engine, "handle_error", _keep_the_pool)
    event.listen(engine, "checkout", _replace_if_dropped)
    return engine


def binding_statements(business_id: uuid.UUID | None, *, read_only: bool = False) -> list[str]:
    """What starts each transaction of the app role: its business ('' for none) and its lock
    timeout. SET takes no bind parameters, so the business is written into the text; it is
    always a UUID's own canonical form, never a caller's string."""
    tenant = "" if business_id is None else str(uuid.UUID(str(business_id)))
    statements = [
        f"SET LOCAL app.business_id = '{tenant}'",
        f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'",
    ]
    if read_only:  # a replica refuses writes anyway; the same rule holds on the primary too
        statements.append("SET LOCAL transaction_read_only = on")
    return statements


def binding(business_id: uuid.UUID | None, *, read_only: bool = False) -> str:
    """The same as one statement (one round trip in a transaction already begun)."""
    return "; ".join(binding_statements(business_id, read_only=read_only))


def _bind_on_begin(session: Session, _tx: SessionTransaction, conn: Connection) -> None:
    """BEGIN and the binding in one round trip. psycopg would send BEGIN on its own before the
    first statement; sent here in one simple query with the SET LOCALs, the server reports the
    transaction open, and psycopg (which goes by the server's transaction status) sends no
    BEGIN of its own, and COMMIT or ROLLBACK as usual at the end."""
    statement = binding(session.info.get(TENANT_KEY), read_only=_is_read_only(session))
    raw: psycopg.Connection[Any] = conn.connection.dbapi_connection  # type: ignore[assignment]
    try:
        with raw.lock:
            if raw.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                statement = "BEGIN; " + statement
            result = raw.pgconn.exec_(statement.encode())
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    except psycopg.Error as error:
        # As SQLAlchemy would have it from its own execute: the error page answers "try
        # again", and a connection that broke is not given to the next request.
        invalidated = raw.closed or raw.broken or raw.pgconn.status != pq.ConnStatus.OK
        if invalidated:
            conn.invalidate(error)
        raise DBAPIError.instance(
            statement, None, error, psycopg.Error, connection_invalidated=invalidated
        ) from error


def _is_read_only(session: Session) -> bool:
    return bool(session.info.get(READ_ONLY_KEY))


def _admin_lock_timeout(_session: Session, _tx: SessionTransaction, conn: Connection) -> None:
    conn.exec_driver_sql(ADMIN_BINDING)


class Database:
    """The app's engine (DATABASE_URL), the replica's (DATABASE_REPLICA_URL, optional) and the
    owner's (DATABASE_ADMIN_URL), each made when first used: an admin command needs only the
    owner's URL, the web app only the app role's, and the one missing is named in one sentence
    (`config.require`) when it is needed."""

    def __init__(
        self,
        app_url: str | None,
        admin_url: str | None,
        replica_url: str | None = None,
        **pool: Any,
    ) -> None:
        self.app_url = app_url
        self.admin_url = admin_url
        self.replica_url = replica_url
        # The app engine's pool: 10 connections and 10 more at a push, unless told otherwise.
        self.pool = {"pool_size": 10, "max_overflow": 10, "pool_timeout": 10, **pool}
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._replica_engine: Engine | None = None
        self._replica_sessions: sessionmaker[Session] | None = None
        self._admin_engine: Engine | None = None
        self._admin_sessions: sessionmaker[Session] | None = None

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
            event.listen(self._sessions, "after_begin", _bind_on_begin)
        return self._sessions

    @property
    def replica_engine(self) -> Engine | None:
        """Read-only pages and API GETs, when a replica is configured (DATABASE_REPLICA_URL)."""
        if self.replica_url is None:
            return None
        if self._replica_engine is None:
            self._replica_engine = make_engine(self.replica_url, **self.pool)
        return self._replica_engine

    @property
    def replica_sessions(self) -> sessionmaker[Session] | None:
        engine = self.replica_engine
        if engine is None:
            return None
        if self._replica_sessions is None:
            self._replica_sessions = sessionmaker(
                engine, expire_on_commit=False, info={READ_ONLY_KEY: True}
            )
            event.listen(self._replica_sessions, "after_begin", _bind_on_begin)
        return self._replica_sessions

    @property
    def admin_engine(self) -> Engine:
        if self._admin_engine is None:
            url = require({"DATABASE_ADMIN_URL": self.admin_url}, "DATABASE_ADMIN_URL")
            self._admin_engine = make_engine(url, pool_size=2)
        return self._admin_engine

    @property
    def admin_sessions(self) -> sessionmaker[Session]:
        if self._admin_sessions is None:
            self._admin_sessions = sessionmaker(self.admin_engine, expire_on_commit=False)
            event.listen(self._admin_sessions, "after_begin", _admin_lock_timeout)
        return self._admin_sessions

    def check_app_role(self) -> None:
        """Refuse to serve through a role that row-level security would not hold back (on the
        replica too, when there is one), or that cannot confirm a ledger call is on disk."""
        for engine in (self.engine, self.replica_engine):
            if engine is not None:
                self._check_role(engine)
        with self.engine.connect() as conn:
            if not conn.execute(MAY_CONFIRM_COMMITS).scalar():
                raise DatabaseRoleProblem(
                    "The app's database role may not execute pg_logical_emit_message, with which "
                    "the ledger confirms each sale and payment is on disk before answering; "
                    "grant EXECUTE on it to that role (PostgreSQL grants it to PUBLIC by default)."
                )

    @staticmethod
    def _check_role(engine: Engine) -> None:
        with engine.connect() as conn:
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
        with engine.connect() as conn:
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
        with self.admin_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._replica_engine is not None:
            self._replica_engine.dispose()
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
        session.connection().exec_driver_sql(binding(business_id, read_only=_is_read_only(session)))


def use_replica() -> None:
    """From here on, this request's session (db_session()) reads from the replica, bound to the
    business already bound (none: it sees nothing), in read-only transactions. The primary's
    transaction ends first, so its connection goes back to the pool; what it loaded (the
    signed-in user) stays loaded. Without DATABASE_REPLICA_URL nothing changes."""
    replica = get_db().replica_sessions
    if replica is None or g.get("on_replica"):
        return
    primary = db_session()
    primary.commit()  # reads only; expire_on_commit=False keeps the user loaded
    session = replica()
    session.info[TENANT_KEY] = primary.info.get(TENANT_KEY)
    g.primary_session, g.db_session, g.on_replica = primary, session, True


def replica_reads(view: Callable[P, T]) -> Callable[P, T]:
    """A view that only reads (a list, the overdue list, a statement, a CSV): its queries go to
    the replica when one is configured. The signed-in user is checked on the primary first, so
    a session ended a moment ago is never honoured through a lagging replica. Pages that answer
    a write (receipts, a customer's page after a payment) stay on the primary: a replica a few
    milliseconds behind would not have the sale yet."""

    @functools.wraps(view)
    def on_replica(*args: P.args, **kwargs: P.kwargs) -> T:
        use_replica()
        return view(*args, **kwargs)

    return on_replica


def close_db_session(_exc: BaseException | None = None) -> None:
    for key in ("db_session", "primary_session"):
        session = g.pop(key, None)
        if session is not None:
            session.close()  # rolls back whatever the view did not commit
    g.pop("on_replica", None)


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
