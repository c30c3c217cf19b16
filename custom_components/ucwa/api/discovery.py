"""Autodiscovery: from the sign-in address to the user's applications URL (RootURL.md)."""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from yarl import URL

from .exceptions import (
    UcwaApiError,
    UcwaAuthenticationError,
    UcwaConnectionError,
    UcwaError,
    UcwaMalformedResponseError,
    UcwaSecurityError,
)
from .hosts import HostPolicy, parse_target
from .models import link_href
from .transport import Transport

_LOGGER = logging.getLogger(__package__)

MAX_DISCOVERY_HOPS = 10
"""Redirects (root or user level, 3xx or `_links.redirect`) followed before giving up."""


async def discover(transport: Transport, hosts: HostPolicy) -> str:
    """Find the applications URL: roots internal then external, then the user resource.

    Bad credentials end the search at once; a failed security check is reported in preference
    to a connection error, since it is the one the user can act on. The origins it reaches are
    the only ones the client talks to afterwards (`HostPolicy.discovering`).
    """
    with hosts.discovering():
        return await _try_roots(transport, hosts)


async def _try_roots(transport: Transport, hosts: HostPolicy) -> str:
    """Try each root in order; return the first applications URL found."""
    last_error: UcwaError | None = None
    security_error: UcwaSecurityError | None = None
    for root in hosts.discovery_roots():
        hosts.trust(root)
        try:
            return await _follow(transport, hosts, root)
        except UcwaAuthenticationError:
            raise
        except UcwaSecurityError as err:
            security_error = err
            _LOGGER.warning("Autodiscovery at %s failed the security check", root.host)
        except UcwaError as err:
            last_error = err
            _LOGGER.debug("Autodiscovery at %s failed: %s", root.host, err)
    if security_error is not None:
        raise security_error
    assert last_error is not None
    raise last_error


async def _follow(transport: Transport, hosts: HostPolicy, start: URL) -> str:
    """Follow root, redirect and user links until the user resource names its applications."""
    url = start
    seen: set[str] = set()
    for _hop in range(MAX_DISCOVERY_HOPS + 1):
        if str(url) in seen:
            raise UcwaConnectionError(f"Autodiscovery redirect loop at {url.host}")
        seen.add(str(url))
        response = await transport.request("GET", url)
        if 300 <= response.status < 400:
            location = response.headers.get("Location")
            if not location:
                raise UcwaApiError(response.status, None, None, "Redirect without Location")
            target = _resolve(url, location)
            hosts.check_hop(url, target)  # same domain, never HTTPS to HTTP
            url = target
            continue
        resource = response.json()
        base = str(url)
        if redirect := link_href(resource, "redirect", base):
            next_hop = redirect  # a redirect wins over anything else the body links
        elif applications := link_href(resource, "applications", base):
            hosts.check_redirect(url, parse_target(applications))
            return applications
        elif user := link_href(resource, "user", base):
            next_hop = user
        else:
            raise UcwaMalformedResponseError(
                f"{url.host} answered discovery without a user or applications link"
            )
        target = parse_target(next_hop)
        hosts.check_redirect(url, target)
        url = target
    raise UcwaConnectionError(f"Autodiscovery needed more than {MAX_DISCOVERY_HOPS} hops")


def _resolve(base: URL, location: str) -> URL:
    """Resolve a Location header; one the URL parser cannot read is a refused link."""
    try:
        joined = urljoin(str(base), location)
    except ValueError as err:
        raise UcwaSecurityError("Refusing a malformed redirect") from err
    return parse_target(joined)
