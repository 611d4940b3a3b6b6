"""Ledger use cases: post transactions, reverse one, read balances and a user's history."""

from greenenergy.services.ledger.posting import MAX_HISTORY_LIMIT, balance, post, post_one, reverse, user_history

__all__ = ["MAX_HISTORY_LIMIT", "balance", "post", "post_one", "reverse", "user_history"]
