from shared_apps.core.exceptions import ApplicationError, InvalidStateError, NotFoundError

__all__ = ["ApplicationError", "DeliveryFailedError", "InvalidStateError", "NotFoundError"]


class DeliveryFailedError(ApplicationError):
    """The channel's sender refused or failed to send a bot-initiated message (code "events.delivery_failed")."""

    status_code = 502
