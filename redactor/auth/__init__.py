"""Accounts, passwords and bearer tokens for the service (제31조: named people, rights differentiated by role)."""
