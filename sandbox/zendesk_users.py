"""Zendesk's user directory rules: how users are found, created and matched.

`create_or_update` matches on `external_id`, then on email, and never on phone: that is why
the product keys SMS customers by an external id like `sms:+15551234567`.
"""

from __future__ import annotations

from sandbox.zendesk_model import (
    API_USER_ID,
    TicketInput,
    User,
    UserInput,
    ZendeskData,
    record_invalid,
)


def new_user(data: ZendeskData, given: UserInput, now: int) -> User:
    user = User(
        id=data.new_id("user"),
        name=given.name or "",
        email=given.email,
        phone=given.phone,
        external_id=given.external_id,
        role=given.role or "end-user",
        details=given.details,
        notes=given.notes,
        created_at=now,
        updated_at=now,
    )
    data.users[user.id] = user
    return user


def _by_email(data: ZendeskData, email: str | None) -> User | None:
    return next((u for u in data.users.values() if email and u.email == email), None)


def create_or_update_user(data: ZendeskData, given: UserInput, now: int) -> tuple[User, bool]:
    """The matched user updated, or a new one; and whether it was created."""
    match = next(
        (
            u
            for u in data.users.values()
            if given.external_id and u.external_id == given.external_id
        ),
        None,
    )
    email_holder = _by_email(data, given.email)
    if match is None:
        match = email_holder
    elif email_holder is not None and email_holder.id != match.id:
        raise record_invalid("email", f"Email {given.email} is already being used by another user")
    if match is None:
        if not given.name:
            raise record_invalid("name", "Name: is too short (minimum one character)")
        return new_user(data, given, now), True
    for name in given.model_fields_set:
        value = getattr(given, name)
        if value is not None or name not in {"name", "role"}:
            setattr(match, name, value)
    match.updated_at = now
    return match, False


def requester_id(data: ZendeskData, given: TicketInput, now: int) -> int:
    """The ticket's requester: an id, an email, or `{name, email}` (created when unknown);
    the authenticated API user when none is given."""
    wanted = given.requester_id if given.requester_id is not None else given.requester
    if wanted is None:
        return API_USER_ID
    if isinstance(wanted, int):
        if wanted not in data.users:
            raise record_invalid("requester", f"User {wanted} does not exist")
        return wanted
    email = wanted if isinstance(wanted, str) else wanted.email
    known = _by_email(data, email)
    if known is not None:
        return known.id
    name = None if isinstance(wanted, str) else wanted.name
    if not (name or email):
        raise record_invalid("requester", "Requester: name is required")
    return new_user(data, UserInput(name=name or str(email).split("@")[0], email=email), now).id
