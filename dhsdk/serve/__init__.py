"""``dhsdk serve``: the SDK behind an HTTP API (FastAPI + uvicorn) with tenants and bearer tokens.

Avatars (upload -> review -> create -> optional per-person training), renders (text or audio
-> mp4), live sessions with the commerce host, jobs with progress and a log tail, events over
a WebSocket, and a merchant console page at ``/``. State lives in a real database (SQLite
embedded by default, PostgreSQL by URL); uploads and results are written atomically and
checksummed. Jobs and live sessions run on workers that each own a Scheduler: in the API
process by default, on Ray actors with ``--ray``.

Modules: :mod:`~dhsdk.serve.config` (settings and limits), :mod:`~dhsdk.serve.db` (the store),
:mod:`~dhsdk.serve.auth` (tokens, rate limits), :mod:`~dhsdk.serve.files` (uploads and
results), :mod:`~dhsdk.serve.engine` (the only module calling the SDK),
:mod:`~dhsdk.serve.jobs` (what a job does), :mod:`~dhsdk.serve.worker` (jobs and live sessions
of one worker), :mod:`~dhsdk.serve.local` / :mod:`~dhsdk.serve.ray_backend` (where workers
run), :mod:`~dhsdk.serve.app` and :mod:`~dhsdk.serve.api` (the HTTP API),
:mod:`~dhsdk.serve.server` (uvicorn, recovery, shutdown), :mod:`~dhsdk.serve.cli`.
Every heavy dependency (fastapi, uvicorn, sqlalchemy, psycopg, ray) is imported lazily:
``pip install 'dhsdk[serve]'`` (and ``'dhsdk[ray]'`` for scale-out).
"""
