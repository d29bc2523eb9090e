"""Pure domain rules (EVENTS.md semantics) over plain JSON-able data: no Faust, no Kafka, no metrics library.

State values are dicts of lists/numbers/strings so that a Faust table can store and replay them.
Times are unix seconds (float); `o` is the source offset that last changed a value.
"""
