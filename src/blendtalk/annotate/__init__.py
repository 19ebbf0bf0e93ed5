"""The annotation stage: FACS descriptions of sentences by an LLM or the rule-based annotator."""
