"""The Paddle runtime (default): PaddleNLP's CLIPModel. The only module that imports paddle.

Weights are never loaded with `paddle.load` or `from_pretrained` (both unpickle with the full
pickle machinery): the state comes from `weights.load_pdparams` and is set on a model built
from the validated config.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from indexer.errors import RuntimeUnavailable

from ..config import ModelConfig, to_paddlenlp_dict
from ..encoder import Encoder, installed, resolve_dtype
from ..hardware import cpu_threads
from ..tokenizer import TokenIds
from ..transform import Pixels


def import_paddle():
    """(paddle, CLIPConfig, CLIPModel, no_init_weights), imported quietly and with MKL at full speed."""
    os.environ.setdefault("GLOG_minloglevel", "2")  # Paddle's C++ start-up chatter
    # Paddle's CPU matmuls run in the MKL it bundles, which takes a slow generic code path on AMD
    # processors unless told the CPU type: measured on a 2-core AMD EPYC, float32 GEMM 53 -> 100
    # GFLOP/s and a tiny-shapes training step 2.3 -> 1.5 s. Intel processors ignore the variable.
    # It must be set before MKL starts; a value the user set wins.
    os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
    # Importing paddle and paddlenlp warns about ccache and distutils and logs library versions at
    # INFO: none of it is the user's concern, and `pixseek index` keeps stderr for skipped files.
    logging.disable(logging.INFO)
    # PaddleNLP also puts an INFO handler on the root logger, which would print every library's INFO
    # lines (Alembic's "Context impl SQLiteImpl." on each catalog opened): the root is put back as it was.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import paddle
            from paddlenlp.transformers import CLIPConfig, CLIPModel
            from paddlenlp.transformers.model_utils import no_init_weights
            from paddlenlp.utils.log import logger
    except ImportError as exc:
        raise RuntimeUnavailable("paddle", f"{exc}; install pixseek[cpu] or pixseek[gpu]") from exc
    finally:
        logging.disable(logging.NOTSET)
        root.setLevel(level)
        root.handlers[:] = handlers
    logger.set_level("WARNING")
    logging.getLogger("paddlenlp").setLevel(logging.WARNING)
    return paddle, CLIPConfig, CLIPModel, no_init_weights


def available() -> bool:
    return installed("paddle", "paddlenlp")


def cuda_available() -> bool:
    paddle = import_paddle()[0]
    return paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0


def _paddle_device(device: str) -> str:
    return "gpu:" + (device.split(":")[1] if ":" in device else "0") if device.startswith("cuda") else "cpu"


class PaddleEncoder(Encoder):
    runtime = "paddle"
    layout = "paddle"

    @staticmethod
    def resolve(dtype: str, device: str) -> str:
        """float16 on GPUs; on the CPU float32, also for bfloat16 (Paddle has no bfloat16 CPU kernels)."""
        resolved = resolve_dtype(dtype, device, gpu_default="float16")
        return "float32" if device == "cpu" and resolved != "float32" else resolved

    @staticmethod
    def stored(dtype: str) -> str:
        return "float32" if dtype == "bfloat16" else dtype  # cast after loading: numpy has no bfloat16

    def __init__(self, name: str, path: Path, config: ModelConfig, weights, device: str, dtype: str, batch_size: int):
        paddle, _, _, _ = import_paddle()
        super().__init__(name, path, config, weights, device, dtype, batch_size)
        self._paddle = paddle
        paddle.set_device(_paddle_device(device))
        if device == "cpu":
            # Paddle's CPU kernels use one thread unless told otherwise: twice as slow on 2 cores.
            paddle.base.core.set_num_threads(cpu_threads())

    def _build(self, tower: str, arrays: dict, dtypes: dict):
        """PaddleNLP's text or vision model with its projection, holding only that tower's weights."""
        paddle, _, _, no_init_weights = import_paddle()
        self._eager()  # a tower may be first asked for in a thread Paddle starts in static mode
        from paddlenlp.transformers import (
            CLIPTextConfig,
            CLIPTextModelWithProjection,
            CLIPVisionConfig,
            CLIPVisionModelWithProjection,
        )

        fields = to_paddlenlp_dict(self.config)
        cfg, cls = (CLIPTextConfig, CLIPTextModelWithProjection)
        if tower == "vision":
            cfg, cls = (CLIPVisionConfig, CLIPVisionModelWithProjection)
        # Skip the random initialisation that set_state_dict overwrites anyway.
        with no_init_weights(), paddle.LazyGuard():
            model = cls(cfg(**fields[f"{tower}_config"], projection_dim=self.config.embed_dim))
        if self.stored(self.dtype) == "float16":
            model.to(dtype="float16")  # the cached weights are float16: the parameters take them as they are
        model.set_state_dict({k: paddle.to_tensor(np.asarray(v)) for k, v in arrays.items()})
        model.eval()
        if self.dtype == "bfloat16":
            model.to(dtype="bfloat16")
        return model

    def _eager(self):
        """paddle, in eager (dygraph) mode in this thread: the mode is thread-local, and a thread that
        Paddle has not seen starts in static mode (Streamlit runs each rerun of a page in a new thread)."""
        if not self._paddle.in_dynamic_mode():
            self._paddle.disable_static()
        return self._paddle

    def _vision(self, pixels: Pixels) -> np.ndarray:
        model = self.tower("vision")
        paddle = self._eager()
        with paddle.no_grad():
            x = paddle.to_tensor(pixels).cast(self.dtype)
            return model(pixel_values=x, return_dict=True).image_embeds.cast("float32").numpy()

    def _text(self, ids: TokenIds) -> np.ndarray:
        model = self.tower("text")
        paddle = self._eager()
        with paddle.no_grad():
            return model(input_ids=paddle.to_tensor(ids), return_dict=True).text_embeds.cast("float32").numpy()
