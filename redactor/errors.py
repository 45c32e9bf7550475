"""Errors that reach a user as one clear line, with the exit status the CLI gives them."""


class RedactorError(Exception):
    """An expected failure: printed as one line, no traceback."""

    exit_code = 2


class BadInput(RedactorError):
    """The input file cannot be processed (corrupt, truncated, not a video, absurd size...)."""

    exit_code = 2


class ModelMissing(RedactorError):
    """A weight file is missing or altered; the message names the file and the fix."""

    exit_code = 4


class AuditObjection(RedactorError):
    """The second-opinion audit found a face or plate outside the kept tracks: nothing is released."""

    exit_code = 3
