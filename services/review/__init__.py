"""Post-incident reviews (domain research B6): which incidents owe one, its clocks, the document filled
from the record, the blameless-language lint, the meeting and the action items."""
