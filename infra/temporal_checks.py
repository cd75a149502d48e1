"""What the worker checks about Temporal before it polls: its namespace exists, and every
search attribute the workflows write is registered with the right type.

Without these a worker would start and then fail every workflow task on `BadSearchAttributes`,
forever and without saying what to do; so a mismatch ends the worker with the command that
fixes it.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.conversation import SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)

_TYPE_NAMES = {
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_INT: "Int",
    IndexedValueType.INDEXED_VALUE_TYPE_TEXT: "Text",
    IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE: "Double",
    IndexedValueType.INDEXED_VALUE_TYPE_BOOL: "Bool",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
}


class TemporalNotReady(SystemExit):
    """The namespace or a search attribute is missing or wrong: said with the fix."""


async def check_temporal(client: Client, namespace: str) -> None:
    """Raise `TemporalNotReady` naming the commands to run, or return if all is in place.

    A server that will not list search attributes to this client (Temporal Cloud keys without
    the right role) is warned about, not refused: the workflows may still run.
    """
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise TemporalNotReady(
                f"Temporal has no namespace {namespace!r}: create it with "
                f"`temporal operator namespace create --namespace {namespace}` (on Temporal "
                "Cloud, in the Cloud UI or with tcld), or set TEMPORAL_NAMESPACE"
            ) from None
        raise
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as exc:
        log.warning("could not list search attributes of %s (%s); not checked", namespace, exc)
        return
    problems = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        found = listed.custom_attributes.get(name)
        if found is None:
            problems.append(
                f"{name} is not registered: `temporal operator search-attribute create "
                f"--namespace {namespace} --name {name} --type {kind}`"
            )
        elif _TYPE_NAMES.get(found) != kind:
            problems.append(
                f"{name} is registered as {_TYPE_NAMES.get(found, found)}, smsdesk needs {kind}:"
                f" `temporal operator search-attribute remove --namespace {namespace} --name "
                f"{name}`, then `temporal operator search-attribute create --namespace "
                f"{namespace} --name {name} --type {kind}`"
            )
    if problems:
        raise TemporalNotReady(
            f"search attributes of namespace {namespace!r} are not what smsdesk writes:\n  "
            + "\n  ".join(problems)
        )
