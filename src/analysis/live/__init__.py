"""Live data: HTTP clients for THL Sotkanet (REST 1.1) and Statistics Finland (PxWeb v1).

``kuntakokeilu fetch`` uses these clients to add new, immutable snapshots to ``data/raw/``
(with a manifest row: URL, query, retrieval time, sha256, licence); ``data/fetched_sources.yaml``
declares which fetched snapshot feeds which panel variable (:mod:`analysis.live.config`), and
``data/reference/outcome_catalogue.csv`` maps each pilot model to its indicators
(:mod:`analysis.live.catalogue`).

Network access happens only in these clients; tests run them against a local HTTP server that
replays recorded responses (``tests/http_server.py``).
"""
from .http import FetchError, HttpClient, RateLimiter

__all__ = ["FetchError", "HttpClient", "RateLimiter"]
