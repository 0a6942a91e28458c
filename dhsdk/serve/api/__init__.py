"""The HTTP API's routes, one module per resource (avatars, renders, live, jobs, events,
uploads) and the console page; :mod:`~dhsdk.serve.api.deps` has what they share."""
