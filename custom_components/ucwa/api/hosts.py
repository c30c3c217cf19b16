"""Which hosts the client may follow a link to or send credentials to (RootURL.md's security check)."""

from __future__ import annotations

from yarl import URL

from .config import UcwaConfig
from .exceptions import UcwaAuthenticationError, UcwaSecurityError


def origin(url: URL | str) -> str:
    """Return the scheme://host:port a token and a trust decision belong to."""
    url = URL(url) if isinstance(url, str) else url
    return str(url.origin()).lower()


def same_domain(source: URL, target: URL) -> bool:
    """Whether a 3xx stays in the discovery service's domain (lyncdiscover.x.com → *.x.com)."""
    host = (source.host or "").lower()
    other = (target.host or "").lower()
    if other == host:
        return True
    labels = host.split(".")
    if len(labels) < 3 or labels[-1].isdigit():
        return False
    parent = ".".join(labels[1:])
    return other == parent or other.endswith("." + parent)


class HostPolicy:
    """The security check's decisions and the origins that passed it (pure: no I/O).

    Discovery adds the origins it reached legitimately; the token store only answers a 401 (and so
    only sends the password) for an origin in that set.
    """

    def __init__(self, config: UcwaConfig) -> None:
        """Start with no trusted origin: discovery adds them as it walks."""
        self.config = config
        self._trusted: set[str] = set()

    def trust(self, url: URL | str) -> None:
        """Record that an origin passed the check (a discovery root, a same-domain 3xx)."""
        self._trusted.add(origin(url))

    def is_trusted(self, url: URL | str) -> bool:
        """Whether the origin passed the check, so credentials may be sent there."""
        return origin(url) in self._trusted

    def allowed(self, host: str) -> bool:
        """Apply steps (b) to (d) of the check: sign-in domain, typed host, trusted list."""
        host = host.lower().rstrip(".")
        domain = self.config.domain
        if host == domain or host.endswith("." + domain):
            return True
        typed = self.config.discovery_url
        if typed and host == (URL(typed).host or "").lower():
            return True
        for entry in self.config.trusted_hosts:
            trusted = entry.lower().strip().lstrip(".")
            if trusted and (host == trusted or host.endswith("." + trusted)):
                return True
        return False

    def check_redirect(self, source: URL, target: URL) -> None:
        """Run the security check of RootURL.md before following a link out of `source`.

        (a) A response received over verified HTTPS is authentic, so its links pass. Without
        certificate verification HTTPS proves nothing and is treated like HTTP. Otherwise the
        target host must be in the sign-in domain, typed by the user or in the trusted list.
        A failure raises before anything, let alone credentials, is sent to the target.
        """
        if target.scheme not in ("http", "https") or not target.host:
            raise UcwaSecurityError(f"Refusing to follow a link to {target.scheme}: URL")
        verified = source.scheme == "https" and self.config.verify_ssl
        if not verified and not self.allowed(target.host):
            raise UcwaSecurityError(
                f"{source.host} (not verified HTTPS) sent us to {target.host}, which is outside "
                f"{self.config.domain} and not a trusted host"
            )
        self.trust(target)

    def discovery_roots(self) -> list[URL]:
        """Return the roots to try in order: the typed URL, else internal then external."""
        if self.config.discovery_url:
            return [URL(self.config.discovery_url)]
        domain = self.config.domain
        if not domain:
            raise UcwaAuthenticationError("The sign-in address has no domain")
        return [
            URL(f"https://lyncdiscoverinternal.{domain}/"),
            URL(f"https://lyncdiscover.{domain}/"),
        ]
