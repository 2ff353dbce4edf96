"""Cloud DNS for the public hosts: a managed zone (created here, or an existing one) and A records."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml.framework import Construct, google


@dataclass(frozen=True)
class DnsZoneProps:
    """A public managed zone: its name and DNS name (with the trailing dot), whether this stack creates it."""

    project: str
    zone_name: str
    dns_name: str
    create: bool = True
    dnssec: bool = True
    ttl: int = 300
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


def record_id(host: str) -> str:
    """Construct id of a host's A record: keyed by the host (a hash of it), never by endpoint or position,
    so a host keeps its record at the same Terraform address while other hosts come and go."""
    return f"a-{hashlib.sha256(host.rstrip('.').encode()).hexdigest()[:6]}"


class DnsZone(Construct):
    """A public Cloud DNS zone with DNSSEC on (default key specs: RSASHA256), or, with
    ``create=False``, an existing zone of the project referred to by name; :meth:`a_record`
    points a host at an address, so a Google-managed certificate for it can become ACTIVE
    without a manual step."""

    def __init__(self, scope: Construct, id: str, props: DnsZoneProps, *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        self.props = props
        self._depends_on = list(depends_on)
        self.zone = None
        if props.create:
            mz = google("dns_managed_zone")
            self.zone = mz.DnsManagedZone(
                self,
                "zone",
                project=props.project,
                name=props.zone_name,
                dns_name=props.dns_name,
                description=props.description or f"gkeml: {props.dns_name}",
                visibility="public",
                dnssec_config=mz.DnsManagedZoneDnssecConfig(state="on" if props.dnssec else "off"),
                labels=dict(props.labels) or None,
                depends_on=self._depends_on or None,
            )

    @property
    def managed_zone(self) -> str:
        """The zone's name (a reference when this stack creates it, so records wait for it)."""
        return self.zone.name if self.zone is not None else self.props.zone_name

    def a_record(self, host: str, address: Any) -> Any:
        """An A record ``host`` -> ``address`` (e.g. a static IP's ``address`` attribute), at the
        construct id :func:`record_id` of the host."""
        rs = google("dns_record_set")
        return rs.DnsRecordSet(
            self,
            record_id(host),
            project=self.props.project,
            managed_zone=self.managed_zone,
            name=f"{host.rstrip('.')}.",
            type="A",
            ttl=self.props.ttl,
            rrdatas=[address],
            depends_on=(self._depends_on if self.zone is None else None) or None,
        )

    def authorization_record(self, id: str, name: Any, type: Any, data: Any) -> Any:
        """The record a Certificate Manager DNS authorization asks for (``name``, ``type`` and ``data`` are its
        ``dns_resource_record``: a CNAME under the host), at construct id ``id``."""
        rs = google("dns_record_set")
        return rs.DnsRecordSet(
            self,
            id,
            project=self.props.project,
            managed_zone=self.managed_zone,
            name=name,
            type=type,
            ttl=self.props.ttl,
            rrdatas=[data],
            depends_on=(self._depends_on if self.zone is None else None) or None,
        )
