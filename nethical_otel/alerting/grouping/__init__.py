"""Identity and grouping, plain data in and out: what an alert is (its fingerprint, bounded per source),
which group it joins, and what each occurrence means for each channel (notify, group, rate-limit, silence)."""
