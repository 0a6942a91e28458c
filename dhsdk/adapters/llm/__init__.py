"""LLM adapters: ``stream_chat(messages) -> Iterator[str]``.

``local`` (default, offline: answers from the product catalogue by retrieval and templates)
and ``openai_compat`` (any OpenAI-compatible chat-completions server: vLLM, Ollama,
llama.cpp server, hosted APIs).
"""
