"""Changes to the conversation workflow that running conversations must replay around.

A run records its history with the code of its day; a deploy must replay it. Two mechanisms:

- **Generations, for conversations started by today's code.** The intake starts a conversation
  with `ConversationInput.generation` = `WORKFLOW_GENERATION`; its runs (continue-as-new keeps
  the field) take every change of generations up to it from their first event and ask no
  `workflow.patched`: nothing to record, nothing that replay can decide differently.
- **Patch markers, for conversations started before (generation 0).** Each change keeps its
  `workflow.patched` call, asked at the same place as when it shipped, so those histories
  replay as recorded and their next runs record the markers again.

A generation's input must reach only workers that know it: roll the workers out before the
webhook servers (README, "Upgrading"). A worker of the previous release would ignore the field,
record markers, and a new worker replaying that run would meet markers it never asks for.

Why not patches alone: `workflow.patched` decides on replay from the markers of the workflow
task it runs in, and a state query that reaches a run while a local activity is in flight
makes Temporal's core SDK record that activity in one task and hand its result to the workflow
in the next, while replay hands it in the first. A patch asked right after a local activity
then answers False on replay where the live run recorded its marker, and the run can no longer
be replayed (tests/workflows/test_generations.py). Markers also cost a visibility write each
(`TemporalChangeVersion`).

Making a new change: add its id below with generation `WORKFLOW_GENERATION + 1`, raise
`WORKFLOW_GENERATION` (core/conversation.py), branch with `adopted(...)`, and record a history
of each generation (tests/workflows/test_replay.py). Drop an id once no conversation of an
older generation is open (one ends when its last ticket is closed and no timer is left;
continue-as-new keeps its generation).
"""

from __future__ import annotations

from temporalio import workflow

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

#: The generation from which each change is part of a run from its start.
GENERATION_OF = {
    LOCAL_READS: 1,
    SKIP_UNCHANGED_SEARCH_ATTRIBUTES: 1,
    RECALL_ONLY_A_KNOWN_TICKET: 1,
    SPLIT_LONG_REPLIES: 1,
    INBOUND_MEDIA: 1,
    AGENT_MEDIA: 1,
    PACED_TICKET_UPDATES: 1,
}


def adopted(generation: int, change: str) -> bool:
    """Whether this run takes `change`: from its start if its generation has it, otherwise as
    its history's patch marker says (recorded now if the run is live)."""
    return generation >= GENERATION_OF[change] or workflow.patched(change)
