from shared_apps.core.exceptions import ApplicationError, InvalidStateError, NotFoundError

__all__ = ["ApplicationError", "InvalidStateError", "NotFoundError", "TeamSlugError"]


class TeamSlugError(ApplicationError):
    """The requested subdomain is not acceptable (format, reserved or taken)."""
