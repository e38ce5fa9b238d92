"""`flyer serve`: the web app that gives the pipeline a face for people who never open a
terminal. It edits `data/` (the single source of truth, still editable by hand), calls
`flyer.build.build()` for every document, and serves the files and their previews.

Modules: `server` (checks, uvicorn), `app` (routes), `forms` (form ↔ model), `store`
(round-trip saves, history, conflicts), `jobs` (builds, cache, previews, uploads),
`auth` (password, sessions, cross-site and size checks), `views` and `templating`
(what the pages say). htmx 2.0.11 is vendored in `static/` (0BSD licence, see
`static/htmx-LICENSE.txt`): the app works offline.
"""
