"""Text-to-speech adapters behind :class:`~dhsdk.adapters.tts.base.TTS`
(``synthesize_stream(text) -> Iterator[AudioChunk]``): ``espeak`` (the offline default),
``openai`` (any OpenAI-compatible ``/v1/audio/speech`` server, streamed) and ``piper``
(a Piper voice the user has, loaded from a path); ``pcm`` decodes servers' audio bytes."""
