"""DNS as `doctor` needs it: TXT records of a domain, and the addresses of a host.

Through the system's resolver configuration, or through the nameservers given
(`--nameserver HOST[:PORT]`), always within the run's deadline. Two kinds of "no": an answer
that says nothing is there (`HostNotFoundError` for a host: NXDOMAIN, said as such, or a name
without an address record), and no usable answer at all (`DnsLookupError`: a timeout,
SERVFAIL), which is the nameserver's or the network's problem, not the name's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.resolver

from reconciler.doctor.checks import Deadline

DNS_PORT = 53


class DnsLookupError(Exception):
    """No usable answer (timeout, SERVFAIL, no nameserver); the message says which."""


DNS_FIX = "check the nameservers (--nameserver) or this machine's network"
"""The fix when DNS gave no usable answer: the nameservers' problem, not the name's."""


NXDOMAIN = "does not exist in DNS (NXDOMAIN)"
NO_ADDRESS = "has no address record (A or AAAA)"


class HostNotFoundError(Exception):
    """DNS answered that a host has no address: no such domain (NXDOMAIN), or a name that
    exists without an A or AAAA record. The message is `{host} {reason}`."""

    def __init__(self, host: str, *, nxdomain: bool) -> None:
        self.host = host
        self.nxdomain = nxdomain
        self.reason = NXDOMAIN if nxdomain else NO_ADDRESS
        super().__init__(f"{host} {self.reason}")


@dataclass(frozen=True)
class Nameserver:
    """One nameserver to ask: an IP address and a port."""

    address: str
    port: int = DNS_PORT

    @classmethod
    def parse(cls, text: str) -> Nameserver:
        """`192.0.2.53`, `192.0.2.53:5353`, `::1` or `[::1]:5353`; ValueError otherwise."""
        address, port = text, DNS_PORT
        if text.startswith("["):
            address, _, rest = text[1:].partition("]")
            if rest:
                port = _port(rest.removeprefix(":"), text)
        elif text.count(":") == 1:
            address, _, number = text.partition(":")
            port = _port(number, text)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"nameserver {text!r} is not an IP address[:port]") from None
        return cls(address, port)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"nameserver {whole!r} has no valid port")
    return int(text)


class Resolver:
    """Looks names up through the given nameservers, or the system's configuration."""

    def __init__(self, nameservers: Sequence[Nameserver] = ()) -> None:
        self.nameservers = tuple(nameservers)

    def _resolver(self) -> dns.resolver.Resolver:
        # A fresh resolver per lookup: lookups run in parallel threads and share no state.
        if not self.nameservers:
            try:
                return dns.resolver.Resolver()
            except dns.exception.DNSException as err:
                raise DnsLookupError(f"no system resolver configuration ({err})") from None
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(server.address, server.port)
            for server in self.nameservers
        ]
        return resolver

    def _answer(self, name: str, rdtype: str, deadline: Deadline) -> list[str] | None:
        """Text of each record of `rdtype`; None for NXDOMAIN, [] when there is none."""
        try:
            answer = self._resolver().resolve(
                name, rdtype, lifetime=deadline.remaining(), raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.LifetimeTimeout:
            raise DnsLookupError(f"no DNS answer for {name} within the timeout") from None
        except dns.resolver.NoNameservers:
            reason = f"no nameserver answered for {name} (SERVFAIL or refused)"
            raise DnsLookupError(reason) from None
        except dns.exception.DNSException as err:
            raise DnsLookupError(f"cannot look up {name}: {err}") from None
        if rdtype == "TXT":
            return [b"".join(record.strings).decode("utf-8", errors="replace") for record in answer]
        return [record.to_text() for record in answer]

    def txt(self, name: str, deadline: Deadline) -> list[str] | None:
        """The TXT records of `name`, each one string (its chunks joined); None: NXDOMAIN."""
        return self._answer(name, "TXT", deadline)

    def addresses(self, host: str, deadline: Deadline) -> list[str]:
        """The IPv4 and IPv6 addresses of `host` (an address is its own); HostNotFoundError when
        DNS says there are none, DnsLookupError when it does not answer."""
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        found = self._answer(host, "A", deadline)
        if found is None:
            raise HostNotFoundError(host, nxdomain=True)
        found += self._answer(host, "AAAA", deadline) or []
        if not found:
            raise HostNotFoundError(host, nxdomain=False)
        return found
