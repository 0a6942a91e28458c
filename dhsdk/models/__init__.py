"""Neural model definitions (PyTorch, training/export only) and their ONNX Runtime runners."""
