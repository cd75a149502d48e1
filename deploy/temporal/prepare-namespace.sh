#!/bin/sh
# Prepares smsdesk's Temporal namespace: creates it if it is missing, then registers smsdesk's
# custom search attributes (DESIGN.md, SPEC M22). Runs once in the temporal-admin-tools
# container of docker-compose.yml: waits for the server, then creates what is missing. What
# exists is left alone, so a second `docker compose up` (or a run against an already set-up
# cluster) is a no-op.
# Exits non-zero when Temporal never comes up or a create fails: the worker and the webhooks
# depend on this service completing successfully, so the failure is loud instead of silent.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
WAIT_SECONDS="${WAIT_SECONDS:-300}"
POLL_SECONDS="${POLL_SECONDS:-2}"

started="$(date +%s)"

give_up_after_deadline() {
    if [ $(( $(date +%s) - started )) -ge "$WAIT_SECONDS" ]; then
        echo "prepare-namespace: gave up after ${WAIT_SECONDS}s: $1" >&2
        exit 1
    fi
    sleep "$POLL_SECONDS"
}

# `grep -w` so that NOT_SERVING does not count as SERVING.
until temporal operator cluster health --address "$ADDRESS" 2>/dev/null | grep -qw SERVING; do
    echo "Waiting for Temporal at ${ADDRESS}..."
    give_up_after_deadline "Temporal at ${ADDRESS} is not serving"
done

if ! temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    echo "Creating namespace ${NAMESPACE}."
    temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" \
        --retention "${NAMESPACE_RETENTION:-72h}"
fi

# Listing its search attributes succeeds only once the new namespace is in the server's cache.
until existing="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>/dev/null)"; do
    echo "Waiting for namespace ${NAMESPACE}..."
    give_up_after_deadline "namespace ${NAMESPACE} does not exist"
done

register() {
    name="$1"
    type="$2"
    if printf '%s\n' "$existing" | grep -qw -- "$name"; then
        echo "Search attribute ${name} already registered in ${NAMESPACE}."
        return 0
    fi
    echo "Registering search attribute ${name} (${type}) in ${NAMESPACE}."
    temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
        --name "$name" --type "$type"
}

register CustomerPhone Keyword
register SenderNumber Keyword
register ZendeskTicketId Int
register ConversationStatus Keyword

echo "Search attributes ready in namespace ${NAMESPACE}."
