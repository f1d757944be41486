from shared_apps.core.exceptions import ApplicationError, InvalidStateError, NotFoundError


class ProviderNotFoundError(NotFoundError):
    """code "provider.not_found"."""


class ProviderValidationError(ApplicationError):
    """code "provider.invalid"; ``extra["fields"]`` maps field names to messages a person can act on."""


class ProviderInUseError(InvalidStateError):
    """code "provider.in_use"; ``extra["used_by"]`` lists what still uses it."""
