"""The process assembler (`devstack.cluster`): a part that fails to start leaves nothing
running behind it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.cluster import Cluster
from devstack.processes import port_open
from devstack.subprocesses import port_of


async def test_a_part_that_cannot_start_stops_the_ones_started_before_it(tmp_path: Path) -> None:
    cluster = Cluster.on_free_ports(tmp_path)
    taken = socket.socket()  # another program holds the Twilio sandbox's port
    taken.bind(("127.0.0.1", port_of(cluster.settings.twilio_base_url)))
    try:
        with pytest.raises(RuntimeError, match="sandboxes exited"):
            await cluster.start()
        assert (tmp_path / "logs" / "temporal.log").exists(), "the Temporal server started first"
        assert not port_open(port_of(f"//{cluster.settings.temporal_address}"))
        assert cluster.processes == {}
    finally:
        taken.close()
        cluster.stop()  # what the assertions found still running
