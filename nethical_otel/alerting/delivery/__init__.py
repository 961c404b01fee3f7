"""Delivery: per-channel workers over the outbox, retries from each attempt's outcome, and delivery from
memory while the store cannot be written."""
