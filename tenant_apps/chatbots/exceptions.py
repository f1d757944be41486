from shared_apps.core.exceptions import ApplicationError, InvalidStateError, NotFoundError

__all__ = ["ApplicationError", "ChatbotInvalidError", "InvalidStateError", "NotFoundError"]


class ChatbotInvalidError(ApplicationError):
    """Bad settings (code "chatbot.invalid_*"); ``extra["fields"]`` maps field names to messages."""
