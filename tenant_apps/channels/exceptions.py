from shared_apps.core.exceptions import InvalidStateError


class ChannelInvalidError(InvalidStateError):
    """A channel's settings are not valid (``channel.*`` codes; forms show ``message`` on ``extra["field"]``)."""
