"""Staff: the business's users, adding them, and changing their role, status and password.

Owners only. Every change goes through `webapp.staff.operations`, which locks the business's
owners first where a change must keep an active owner. The forms that change a user name the
state wanted (deactivate, reactivate, a role), so a form sent twice changes nothing the second
time; adding a user uses its idempotency key as the new user's id, so a double click adds one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from webapp.auth.access import owner_required
from webapp.db import db_session
from webapp.forms import add_error
from webapp.idempotency import KeyReused
from webapp.listing import page_of, requested_page
from webapp.models import User
from webapp.staff import bp, operations
from webapp.staff.forms import AddStaffForm, ResetPasswordForm, RoleForm

STALE_FORM = lazy_gettext("This form was out of date; check it and send it again.")


def _user_or_404(user_id: uuid.UUID) -> User:
    """Row-level security hides other businesses' users: their ids answer 404 like unknown ones."""
    user = operations.find_user(db_session(), current_user.business_id, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("")
@owner_required
def index() -> str:
    page = requested_page()
    users = db_session().scalars(
        select(User)
        .where(User.business_id == current_user.business_id)
        .order_by(User.is_active.desc(), func.lower(User.name), User.id)
        .limit(page.size + 1)
        .offset(page.offset)
    )
    shown, page = page_of(list(users), page)
    return render_template("staff/index.html", users=shown, page=page)


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new() -> str | Response | tuple[str, int]:
    form = AddStaffForm()
    if not form.is_submitted():
        return render_template("staff/new.html", form=form)
    if not form.validate() or form.key is None:
        return render_template("staff/new.html", form=form), 400
    try:
        user, _ = operations.add_user(
            db_session(),
            business_id=current_user.business_id,
            email=form.email.data or "",
            name=form.name.data or "",
            role=form.role.data or "",
            password=form.password.data or "",
            key=form.key,
            actor_id=current_user.id,
        )
    except KeyReused:
        form.renew_key()
        return render_template("staff/new.html", form=form), 400
    except operations.StaffRefusal as refusal:
        field = form[refusal.field] if refusal.field and refusal.field in form else None
        if field is None:
            return render_template("staff/new.html", form=form, error=refusal.message), 400
        add_error(field, refusal.message)
        status = 409 if isinstance(refusal, operations.EmailTakenMeanwhile) else 400
        return render_template("staff/new.html", form=form), status
    flash(
        gettext(
            "%(name)s was added as %(role)s. They sign in with %(email)s.",
            name=user.name,
            role=user.role,
            email=user.email,
        )
    )
    return redirect(url_for("staff.detail", user_id=user.id))


@bp.route("/<uuid:user_id>")
@owner_required
def detail(user_id: uuid.UUID) -> str:
    user = _user_or_404(user_id)
    return _detail_page(user)[0]


def _detail_page(
    user: User,
    *,
    role_form: RoleForm | None = None,
    password_form: ResetPasswordForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    if role_form is None:
        role_form = RoleForm(formdata=None, role=user.role)
    page = render_template(
        "staff/detail.html",
        user=user,
        role_form=role_form,
        password_form=password_form or ResetPasswordForm(formdata=None),
        error=error,
    )
    return page, status


def _change(
    user_id: uuid.UUID,
    change: Callable[..., operations.Outcome],
    done: str,
    *,
    role_form: RoleForm | None = None,
    password_form: ResetPasswordForm | None = None,
    **wanted: object,
) -> Response | tuple[str, int]:
    """Apply one locked change of `operations` (`wanted` says to what), as the signed-in owner;
    on a refusal show the user's page with the reason."""
    session = db_session()
    try:
        outcome = change(
            session,
            business_id=current_user.business_id,
            actor_id=current_user.id,
            user_id=user_id,
            **wanted,
        )
    except operations.NotAnOwner:
        abort(403)
    except operations.UserNotFound:
        abort(404)
    except operations.StaffRefusal as refusal:
        user = _user_or_404(user_id)
        form = {"role": role_form, "password": password_form}.get(refusal.field or "")
        error: str | None = refusal.message
        if form is not None and refusal.field:
            add_error(form[refusal.field], refusal.message)
            error = None
        return _detail_page(
            user, role_form=role_form, password_form=password_form, error=error, status=409
        )
    if outcome.changed:
        flash(done.format(name=outcome.name))
    if user_id == current_user.id:
        # An owner who made themselves a clerk: their other sessions end, this one goes on.
        me = current_user._get_current_object()
        session.refresh(me)
        if not me.is_owner:
            return redirect(url_for("dashboard.index"))
    return redirect(url_for("staff.detail", user_id=user_id))


@bp.post("/<uuid:user_id>/deactivate")
@owner_required
def deactivate(user_id: uuid.UUID) -> Response | tuple[str, int]:
    return _change(
        user_id,
        operations.set_active,
        "{name} was deactivated and signed out everywhere.",
        active=False,
    )


@bp.post("/<uuid:user_id>/reactivate")
@owner_required
def reactivate(user_id: uuid.UUID) -> Response | tuple[str, int]:
    return _change(
        user_id, operations.set_active, "{name} was reactivated and can sign in again.", active=True
    )


@bp.post("/<uuid:user_id>/role")
@owner_required
def change_role(user_id: uuid.UUID) -> Response | tuple[str, int]:
    form = RoleForm()
    role = form.role.data or ""
    return _change(
        user_id,
        operations.set_role,
        f"{{name}} is now {'an' if role == 'owner' else 'a'} {role}.",
        role_form=form,
        role=role,
        actor_session=current_user.session_id,
    )


@bp.post("/<uuid:user_id>/password")
@owner_required
def reset_password(user_id: uuid.UUID) -> Response | tuple[str, int]:
    form = ResetPasswordForm()
    if not form.validate():
        return _detail_page(_user_or_404(user_id), password_form=form, status=400)
    return _change(
        user_id,
        operations.reset_password,
        "{name}'s password was changed and they were signed out everywhere. "
        "Give them the new password.",
        password_form=form,
        password=form.password.data or "",
    )
