"""Durable intake (B9): how events from the outside reach their workflows without being lost.

A webhook's event is durable once Temporal accepted its signal, or once it sits in the intake
journal, a table of the product database. The door (`intake.door`) tries Temporal first, for
a short while, and journals the event when Temporal is slow or down; the forwarder
(`intake.forwarder`) hands journaled events to Temporal once it is back, in arrival order per
workflow, exactly once (the workflows drop what they have already seen).
"""
