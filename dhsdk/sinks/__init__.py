"""Where frames go: an mp4 file, an RTMP ingest, OBS (shared-memory ring), a browser page, a callback.

Every sink implements :class:`dhsdk.sinks.base.Sink` (``write(frame)``, ``close()``, a context
manager, ``metrics``). Import the one you need from its module: ``dhsdk.sinks.file.FileSink``,
``dhsdk.sinks.rtmp.RtmpSink``, ``dhsdk.sinks.obs.ObsSink``, ``dhsdk.sinks.browser.BrowserSink``,
``dhsdk.sinks.callback.CallbackSink``; heavy dependencies (PyAV, OpenCV) load only when used.
"""
