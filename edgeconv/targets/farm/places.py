"""What the coordinator knows of places: which match a filter, where a place's board answers SSH (its
``NetworkService``), and the rows ``edgeconv target list`` shows."""

from __future__ import annotations

from typing import Any

from edgeconv.targets.farm.session import FarmError, FarmSession
from edgeconv.targets.farm.spec import FarmSpec

WAITING, ALLOCATED, ACQUIRED = 0, 1, 2  # labgrid's ReservationState values


def place_tags(name: str, place: Any) -> set[tuple[str, str]]:
    """A place's tags as the scheduler matches them: its own, and its name."""
    return {*place.tags.items(), ("name", name)}


def matching(places: dict[str, Any], filters: dict[str, str]) -> list[str]:
    """The places whose tags include every ``filters`` entry, by name."""
    return sorted(name for name, place in places.items() if set(filters.items()) <= place_tags(name, place))


def check_exists(spec: FarmSpec, places: dict[str, Any]) -> list[str]:
    """The places ``spec`` may get; one line when there are none."""
    found = matching(places, spec.filters)
    if found:
        return found
    known = ", ".join(f"{n} ({_tag_text(p) or 'no tags'})" for n, p in sorted(places.items())) or "none"
    if spec.by_name:
        raise FarmError(f"the labgrid coordinator has no place {spec.filters['name']} (places: {known})")
    raise FarmError(f"no place matches {spec.label.removeprefix('labgrid:')} (places: {known})")


def network_service(name: str, place: Any, resources: dict[str, Any]) -> dict[str, Any]:
    """The ``NetworkService`` arguments (address, username, port) of place ``name``; one line when it has none
    or its exporter is gone (an orphaned place)."""
    matched = []
    for exporter, groups in resources.items():
        for group, entries in groups.items():
            for resource_name, entry in entries.items():
                if entry.data.get("cls") and place.hasmatch((exporter, group, entry.cls, resource_name)):
                    matched.append((exporter, entry))
    services = [entry for _, entry in matched if entry.cls == "NetworkService"]
    if services:
        if not services[0].avail:
            raise FarmError(f"place {name}: its exporter reports the board's NetworkService unavailable")
        return dict(services[0].args)
    if not matched and place.matches:
        exporters = " or ".join(sorted({m.exporter for m in place.matches}))
        wanted = ", ".join(map(str, place.matches))
        raise FarmError(
            f"place {name} is orphaned: no connected exporter offers its resources ({wanted}); "
            f"start the exporter {exporters} again, or change the place's matches"
        )
    raise FarmError(
        f"place {name} has no NetworkService: export one for its board (address, username, port) and "
        f"`labgrid-client -p {name} add-match EXPORTER/GROUP/NetworkService`"
    )


def _tag_text(place: Any) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(place.tags.items()))


def place_rows(session: FarmSession) -> list[dict[str, Any]]:
    """Every place: name, tags, who holds it, how many reservations wait that it could serve, and where its
    board answers SSH (or why it cannot be used)."""
    places, resources = session.snapshot()
    waiting = [r for r in session.reservations() if r.state == WAITING]
    rows = []
    for name, place in sorted(places.items()):
        tags = place_tags(name, place)
        try:
            service = network_service(name, place, resources)
            board, problem = f"{service.get('username', '')}@{service['address']}:{service.get('port', 22)}", None
        except FarmError as exc:
            board, problem = None, str(exc)
        rows.append(
            {
                "place": name,
                "tags": dict(place.tags),
                "acquired": place.acquired,
                "queue": sum(set(r.filters["main"].filter.items()) <= tags for r in waiting if "main" in r.filters),
                "board": board,
                "problem": problem,
            }
        )
    return rows
