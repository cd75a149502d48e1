"""Patch ids of workflow changes (`workflow.patched`): running conversations recorded their
history with the code before each change and must replay it.

Keep an id while any run started before its deploy is still open (a visibility query on
`StartTime` finds them; runs end when their ticket closes or they continue-as-new), then
`workflow.deprecate_patch` it and, once that is deployed too, remove both.

A patch is not free: the first `workflow.patched` of each id in a run records a marker and
upserts the `TemporalChangeVersion` search attribute, a visibility write on the server. For a
short run (TicketMetrics) a field of the input with a default does the same job at no cost.
"""

#: Triage and customer-context reads run as local activities (not ordinary activities).
LOCAL_READS = "local-reads-1"
#: The ticket's search attributes are upserted only when they change.
SKIP_UNCHANGED_SEARCH_ATTRIBUTES = "skip-unchanged-search-attributes-1"
#: A fresh run asks Zendesk for its last ticket only when the database knows one.
RECALL_ONLY_A_KNOWN_TICKET = "recall-only-a-known-ticket-1"
#: An agent reply over the SMS provider's 1,600-character limit is texted in parts (B12).
SPLIT_LONG_REPLIES = "split-long-replies-1"
#: A customer's MMS media are uploaded to Zendesk and attached to the text's comment (B7).
INBOUND_MEDIA = "inbound-media-1"
#: An agent reply's pictures are looked up and texted with it as MMS (B11).
AGENT_MEDIA = "agent-media-1"
#: A ticket's updates are paced after a burst (one per 40 s) instead of 25 at once and then
#: none for the rest of 10 minutes (B5).
PACED_TICKET_UPDATES = "paced-ticket-updates-1"
