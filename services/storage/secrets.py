"""Backend credentials, kept only in the OS keyring and read from it at each use.

Sitrep never falls back to the database or a file. When keyring has nothing better than its `fail`
backend, or only a plaintext one (keyrings.alt), storing is refused with the reason; reading says
what is wrong instead of "wrong token" (Vorta's issue 385 is the cautionary tale).
No message written here contains a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from services.errors import SitrepError

log = logging.getLogger(__name__)

SERVICE = "sitrep"


class KeyringUnavailable(SitrepError):
    """No secure keyring can be used right now; the message says why and what to do."""

    exit_code = 7


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str  # the keyring class in use, e.g. "keyring.backends.SecretService.Keyring"
    reason: str  # why it cannot be used ("" when usable)

    @property
    def label(self) -> str:
        """The keyring as a person knows it ("Secret Service (GNOME Keyring, KWallet…)")."""
        module = self.backend.rpartition(".")[0]
        for fragment, name in _KNOWN_KEYRINGS:
            if fragment in module:
                return name
        return self.backend


_KNOWN_KEYRINGS = (
    ("SecretService", "the Secret Service (GNOME Keyring, KeePassXC…)"),
    ("kwallet", "KWallet"),
    ("macOS", "the macOS Keychain"),
    ("Windows", "the Windows Credential Locker"),
)


def _account(backend: str, name: str) -> str:
    return f"{backend}:{name}"


def _describe(kr) -> str:
    cls = type(kr)
    return f"{cls.__module__}.{cls.__qualname__}"


def _why_insecure(kr) -> str | None:
    """Why this keyring backend must not hold a credential, or None when it may."""
    cls = type(kr)
    module, name = cls.__module__, cls.__qualname__
    if module == "keyring.backends.fail":
        return (
            "no OS keyring was found (keyring fell back to its 'fail' backend: no Secret Service, "
            "KWallet, macOS Keychain or Windows Credential Locker answered)"
        )
    if module == "keyring.backends.null":
        return "keyring is set to its 'null' backend, which stores nothing"
    if "plaintext" in name.lower() or module.startswith("keyrings.alt"):
        return f"the keyring in use ({name}) keeps secrets in a plain or weakly protected file"
    return None


class SecretStore:
    """get/set/delete a backend's named secret (e.g. pagerduty / api_token) in the OS keyring."""

    def _keyring(self):
        import keyring
        from keyring.backends.chainer import ChainerBackend

        kr = keyring.get_keyring()
        if isinstance(kr, ChainerBackend):
            # The chainer tries its backends by priority; the first one is where a secret would go.
            chain = list(kr.backends)
            kr = chain[0] if chain else None
            if kr is None:
                from keyring.backends import fail

                kr = fail.Keyring()
        return kr

    def status(self) -> KeyringStatus:
        try:
            kr = self._keyring()
        except Exception as exc:  # keyring's own start-up can fail in many ways; none may crash us
            return KeyringStatus(False, "?", f"the keyring could not be initialised ({type(exc).__name__})")
        why = _why_insecure(kr)
        return KeyringStatus(why is None, _describe(kr), why or "")

    def _require_usable(self, doing: str):
        st = self.status()
        if not st.usable:
            raise KeyringUnavailable(
                f"Cannot {doing}: {st.reason}. Sitrep keeps credentials only in the OS keyring and never "
                "in its database or a file. Start your desktop keyring (for example gnome-keyring or "
                "KWallet), unlock it, and try again."
            )
        return self._keyring()

    def set(self, backend: str, name: str, value: str) -> None:
        if not value:
            raise SitrepError("The secret is empty; nothing was stored.")
        kr = self._require_usable(f"store the {backend} {name.replace('_', ' ')}")
        try:
            kr.set_password(SERVICE, _account(backend, name), value)
        except Exception as exc:
            raise KeyringUnavailable(_keyring_failure(exc, f"store the {backend} credential")) from None
        log.info("stored %s %s in %s", backend, name, _describe(kr))

    def get(self, backend: str, name: str) -> str | None:
        kr = self._require_usable(f"read the {backend} {name.replace('_', ' ')}")
        try:
            return kr.get_password(SERVICE, _account(backend, name))
        except Exception as exc:
            raise KeyringUnavailable(_keyring_failure(exc, f"read the {backend} credential")) from None

    def has(self, backend: str, name: str) -> bool:
        return bool(self.get(backend, name))

    def delete(self, backend: str, name: str) -> bool:
        """True when a secret was there and is gone."""
        kr = self._require_usable(f"remove the {backend} {name.replace('_', ' ')}")
        try:
            from keyring.errors import PasswordDeleteError

            try:
                kr.delete_password(SERVICE, _account(backend, name))
            except PasswordDeleteError:
                return False
        except KeyringUnavailable:
            raise
        except Exception as exc:
            raise KeyringUnavailable(_keyring_failure(exc, f"remove the {backend} credential")) from None
        return True


def _keyring_failure(exc: BaseException, doing: str) -> str:
    """Words for a keyring error. Only the error's type is used: keyring messages may echo input."""
    kind = type(exc).__name__
    if kind == "KeyringLocked":
        return f"Cannot {doing}: the keyring is locked. Unlock it (log in to your desktop session) and try again."
    if kind == "InitError":
        return (
            f"Cannot {doing}: the keyring has no usable collection (it may need a password prompt that cannot "
            "be shown here). Unlock or create your login keyring and try again."
        )
    if kind == "NoKeyringError":
        return f"Cannot {doing}: no OS keyring is available."
    return f"Cannot {doing}: the keyring reported {kind}."


class MemorySecrets:
    """Secrets held in memory for one process. For tests and benchmarks only; never used by the app."""

    def __init__(self, values: dict[tuple[str, str], str] | None = None) -> None:
        self._values = dict(values or {})

    def status(self) -> KeyringStatus:
        return KeyringStatus(True, "memory", "")

    def set(self, backend: str, name: str, value: str) -> None:
        self._values[(backend, name)] = value

    def get(self, backend: str, name: str) -> str | None:
        return self._values.get((backend, name))

    def has(self, backend: str, name: str) -> bool:
        return bool(self.get(backend, name))

    def delete(self, backend: str, name: str) -> bool:
        return self._values.pop((backend, name), None) is not None
