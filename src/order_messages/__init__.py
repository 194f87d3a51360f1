"""Order-linked conversations and disputes for Django stores and marketplaces."""
