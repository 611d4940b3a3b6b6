"""greenenergy: an open engine for an Ant Forest-style personal carbon account.

Layout (imports point one way, shells -> services -> pure core):

- pure core: ``units``, ``errors``, ``clock``, ``periods``, ``scoring/``, ``ledger/``,
  ``forest/``, ``planting/``, ``audit/`` -- no FastAPI, SQLModel, APScheduler or CLI imports;
- shells: ``config``, ``db/``, ``services/``, ``api/``, ``cli/``, ``scheduler/``.
"""

__version__ = "0.1.0"
