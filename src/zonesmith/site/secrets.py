"""TSIG secrets, read from a file or an environment variable, never from zonesmith.yaml."""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

from zonesmith.model import (
    TsigKey,
)
from zonesmith.site.files import is_site_file

_BIND_KEY_SECRET = re.compile(r'secret\s+"([^"]+)"')


class SecretError(ValueError):
    """Why a key's secret cannot be had; ``rule`` is the rule id to report it under."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


def secret_problem(root: str, key: TsigKey) -> SecretError | None:
    """Why ``key``'s secret cannot be used, or None when it can."""
    try:
        read_secret(root, key)
    except SecretError as problem:
        return problem
    return None


def _secret_path(root: str, key: TsigKey) -> Path:
    """Where a key's secret file is, once sure it lies in the site, links followed,
    and is a regular file if it exists (a FIFO or a device would hang or flood the read).
    """
    assert key.secret_file is not None
    if "\0" in key.secret_file:
        raise SecretError("missing-secret", f"key '{key.name}': secret-file holds a NUL character")
    path = Path(root) / key.secret_file
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise SecretError(
            "secret-outside-site",
            f"key '{key.name}': secret file {key.secret_file} is outside the site "
            f"(links followed); keep it in the site folder, git-ignored, e.g. "
            f"secrets/{key.name}.key",
        )
    if os.path.exists(path) and not os.path.isfile(path):  # (False for a name too long)
        raise SecretError(
            "missing-secret",
            f"key '{key.name}': secret file {key.secret_file} is not a regular file",
        )
    return path


def read_secret(root: str, key: TsigKey) -> str:
    """The base64 secret of a TSIG key, from its file or environment variable.

    A secret file holds the secret alone, or the key statement that
    ``tsig-keygen`` prints. Raises SecretError, whose message never holds
    the secret.
    """
    if key.secret_file is not None:
        path = _secret_path(root, key)
        if not is_site_file(root, key.secret_file):
            raise SecretError(
                "missing-secret",
                f"key '{key.name}': secret file {key.secret_file} does not exist; create it "
                f"(e.g. tsig-keygen -a {key.algorithm} {key.name}, keeping only the secret) "
                "and keep it out of git",
            )
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise SecretError(
                "missing-secret", f"key '{key.name}': cannot read {key.secret_file}: {reason}"
            ) from None
    else:
        text = os.environ.get(key.secret_env or "", "")
        if not text:
            raise SecretError(
                "missing-secret",
                f"key '{key.name}': environment variable {key.secret_env} is not set",
            )
    match = _BIND_KEY_SECRET.search(text)
    secret = (match.group(1) if match else text).strip()
    try:
        if not secret or not base64.b64decode(secret, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        where = key.secret_file or f"${key.secret_env}"
        raise SecretError(
            "bad-secret",
            f"key '{key.name}': {where} does not hold a base64 secret (make one with tsig-keygen)",
        ) from None
    return secret
