"""Pure domain rules (EVENTS.md semantics) over plain JSON-able data: no Faust, no Kafka, no metrics library.

State values are dicts of lists/numbers/strings so that a Faust table can store and replay them.
Times are unix seconds (float); the keys and fields of the values, their versions and the series
ids are named in streams.domain.state.
"""
