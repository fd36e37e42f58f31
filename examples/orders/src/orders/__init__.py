"""The orders team's shipping function."""
