"""The live-commerce host: product catalogue, scripted selling, viewers' comments,
compliance filtering of every sentence before it is spoken."""
