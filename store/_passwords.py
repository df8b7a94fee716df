"""Password hashing for the store's local accounts: hashlib.scrypt with a random salt per password.

Stored as "scrypt$N$r$p$salt_hex$hash_hex"; verified in constant time. No plain text is ever stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1   # ~16 MB and ~50 ms per hash on this kind of machine
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(digest) // 2, maxmem=128 * int(n) * int(r) * 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual.hex(), digest)


def burn_time(password: str) -> None:
    """The work of one verification, for an unknown account (so timing does not tell names apart)."""
    hashlib.scrypt(password.encode("utf-8"), salt=b"\0" * 16, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def password_problem(password: str) -> str | None:
    """Why a new password is refused (Chinese), or None."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位。"
    if password.strip() != password:
        return "密码首尾不能有空格。"
    return None
