"""Who must approve, the model's consent, and the one rule for approving."""
