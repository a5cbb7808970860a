"""Typed domain errors. Each carries a message written for the person at the keyboard."""

from __future__ import annotations


class SitrepError(Exception):
    """Base of every error a user may see. `str(err)` is the message for them."""

    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # which input the GUI should mark, when there is one


class NotFound(SitrepError):
    exit_code = 3


class ValidationError(SitrepError):
    exit_code = 2


class InvalidTransition(ValidationError):
    pass


class StoreError(SitrepError):
    """The store cannot be used: locked, read-only, full, corrupt, missing."""

    exit_code = 4


class SchemaTooNew(StoreError):
    exit_code = 5


class IntegrityFailure(SitrepError):
    exit_code = 6


class ImportFailure(ValidationError):
    """A file to import is malformed. Nothing of it was written."""
