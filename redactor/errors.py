"""Errors that reach a user as one clear line, with the exit status the CLI gives them."""

import re


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


class FootageDestroyed(RedactorError):
    """The footage, or a copy derived from it, was destroyed (제35조, a 삭제 request): gone for good (HTTP 410)."""

    exit_code = 6


# An absolute file path of two or more names (/tmp/redactor-upload-x/upload.video), not preceded by a letter, ':',
# '/' or '.' (so URLs, "소속/직급/성명" and relative object keys are left alone); the routes of this service are kept.
_SERVER_PATH = re.compile(r"(?<![\w:/.~-])/(?!api/|objects/)(?:[\w.~-]+/)+([\w.~-]*)")


def scrub_paths(text: str) -> str:
    """The message without server paths: each absolute path is cut to its last name ('upload.video'), so an error
    that reaches a client (API answer, job error) never shows where the service keeps its files."""
    return _SERVER_PATH.sub(lambda m: m.group(1) or "(file)", text)
