"""How a send, a pull or a look-up can fail, in words for a person: what every adapter raises and the
sync worker sorts (retry later, ask a person, pause the backend). No credential ever goes into a message."""

from __future__ import annotations


class SyncFailure(Exception):
    """A send or pull did not succeed. `message` is for a person and never contains a credential."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientFailure(SyncFailure):
    """Worth retrying later: 408/409/429/5xx, timeouts, connection errors, a garbled answer.

    uncertain: the request may have reached the backend and taken effect (timeout after sending,
    a 2xx we could not read). Whoever retries a create must look before making it again.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        uncertain: bool = False,
        counts_against_breaker: bool = True,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.uncertain = uncertain
        self.counts_against_breaker = counts_against_breaker


class PermanentFailure(SyncFailure):
    """The backend refused this item for good (a 4xx other than 408/409/429); a person must act."""


class AuthFailure(SyncFailure):
    """The backend refused the credentials (401/403): every item of the backend would fail the same way."""


class NotConfigured(SyncFailure):
    """A setting or credential is missing; nothing was sent."""


class PayloadError(ValueError):
    """What a sender posted is not what that system sends; the message says what is wrong."""
