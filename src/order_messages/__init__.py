"""Order-linked conversations and disputes for Django stores and marketplaces."""

# Bumped by a release; CHANGELOG.md says what each one brought.
__version__ = "0.2.0.dev0"
