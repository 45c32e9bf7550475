"""Review of an analysis in the service: revisions of its track table (manual boxes, splits) that never overwrite
the analysis itself, the requester's consent to a face match, and frames served from the encrypted recording."""
