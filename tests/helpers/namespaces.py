"""A fresh Temporal namespace with none of smsdesk's search attributes: what an operator's
cluster looks like before `temporal operator search-attribute create`."""

from __future__ import annotations

import uuid
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client


async def bare_namespace(client: Client, prefix: str = "bare") -> str:
    """Register a namespace (one day's retention) and return its name."""
    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    retention = Duration()
    retention.FromTimedelta(timedelta(days=1))
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=retention)
    )
    return namespace
