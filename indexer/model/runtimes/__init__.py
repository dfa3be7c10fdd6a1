"""The two runtimes behind `Encoder`: `paddle` (PaddleNLP's CLIPModel, the default) and `torch`
(open_clip's architecture with the same weights, fused attention on GPUs). Each imports its framework
only when a model is built, so importing pixseek costs neither."""
