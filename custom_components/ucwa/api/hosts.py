"""Which hosts the client may follow a link to or send credentials to (RootURL.md's security check).

Discovery walks from the roots to the user's pool and records every origin (scheme, host, port)
that passed the check. Once it is done the set is sealed: every request goes to one of those
origins or is refused before a byte is sent, whatever a link in a later answer says.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from yarl import URL

from .config import UcwaConfig
from .exceptions import UcwaAuthenticationError, UcwaSecurityError


def origin(url: URL | str) -> str:
    """Return the scheme://host:port a token and a trust decision belong to."""
    url = URL(url) if isinstance(url, str) else url
    return str(url.origin()).lower()


def parse_target(url: URL | str) -> URL:
    """Return the URL if it can be requested at all: absolute http(s) with a host and a valid port.

    A link is server text: `javascript:x`, `http://[::1` or a port of 99999 make the URL parser
    raise ValueError, which would escape as a crash of whatever followed the link. Here they are
    a UcwaSecurityError, like any other link the client refuses to follow.
    """
    try:
        target = URL(url) if isinstance(url, str) else url
        port = target.port
        origin(target)
    except (ValueError, TypeError, UnicodeError) as err:
        raise UcwaSecurityError("Refusing a malformed link") from err
    if target.scheme not in ("http", "https") or not target.host:
        raise UcwaSecurityError(
            f"Refusing to follow a link to {target.scheme or 'a relative'}: URL"
        )
    if port is None or not 0 < port < 65536:
        raise UcwaSecurityError("Refusing a link with an invalid port")
    return target


def is_downgrade(source: URL, target: URL) -> bool:
    """Whether following the link would leave HTTPS for plain HTTP.

    Never done: the password or a token would then travel in clear text.
    """
    return source.scheme == "https" and target.scheme != "https"


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
        self.sealed = False

    @contextmanager
    def discovering(self) -> Iterator[None]:
        """Let a discovery add origins while it walks; seal the set once it found the pool.

        A discovery that fails leaves the set open (the next attempt walks again); nothing but
        discovery requests can be sent before one succeeds.
        """
        self.sealed = False
        yield
        self.sealed = True

    def trust(self, url: URL | str) -> None:
        """Record that an origin passed the check (a discovery root, a same-domain 3xx)."""
        self._trusted.add(origin(url))

    def require(self, url: URL | str) -> URL:
        """Return the URL if a request may go there: well formed, on an origin that passed the check.

        Discovery trusts each hop before requesting it, so this holds during discovery too;
        afterwards it keeps every request on the origins the user signed in to.
        """
        target = parse_target(url)
        if not self.is_trusted(target):
            raise UcwaSecurityError(
                f"{target.host}:{target.port} ({target.scheme}) is not an origin this sign-in "
                "established"
            )
        return target

    def check_hop(self, source: URL, target: URL) -> None:
        """Check a discovery 3xx: same domain as the server that sent it, never HTTPS to HTTP."""
        target = parse_target(target)
        if not same_domain(source, target):
            # RootURL.md step 3: a 302 to another domain is a failed attempt.
            raise UcwaSecurityError(
                f"{source.host} redirected discovery to another domain ({target.host})"
            )
        if is_downgrade(source, target):
            raise UcwaSecurityError(f"{source.host} redirected discovery from HTTPS to HTTP")
        self.trust(target)

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
        A failure raises before anything, let alone credentials, is sent to the target. HTTPS
        never leads to HTTP, and once discovery sealed the set only known origins pass.
        """
        target = parse_target(target)
        if self.sealed and not self.is_trusted(target):
            raise UcwaSecurityError(
                f"{source.host} linked to {target.host}, which discovery did not establish"
            )
        if is_downgrade(source, target):
            raise UcwaSecurityError(f"{source.host} linked from HTTPS to HTTP ({target.host})")
        verified = source.scheme == "https" and self.config.verify_ssl
        if not verified and not self.allowed(target.host or ""):
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
