"""Retention (제35조): footage past its expiry is destroyed beyond restoring, unless held; each is a 파기 row."""
