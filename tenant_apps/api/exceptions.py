from shared_apps.core.exceptions import ApplicationError, InvalidStateError


class ApiKeyError(ApplicationError):
    """code "api_key.*": the key cannot be created or changed as asked."""


__all__ = ["ApiKeyError", "InvalidStateError"]
