"""The alerting loop's work: batches from the intake recorded in the store, follow-ups planned, upkeep
done, store faults survived; and the loop's lifecycle."""
