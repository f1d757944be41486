from shared_apps.core.exceptions import (
    ApplicationError,
    InvalidStateError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)

__all__ = [
    "ApplicationError",
    "InvalidStateError",
    "InvitationError",
    "MembershipError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "TeamSlugError",
]


class TeamSlugError(ApplicationError):
    """The requested subdomain (or team name) is not acceptable (format, reserved or taken)."""


class MembershipError(InvalidStateError):
    """A membership change would break a team rule (e.g. leave the team without an owner)."""


class InvitationError(InvalidStateError):
    """The invitation cannot be created, sent or accepted in its current state."""
