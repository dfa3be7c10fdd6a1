"""Files in: scan folders and WebDataset tar shards, read bytes, hash and decode them (EXIF-aware, on
the CPU in worker processes, or JPEGs on the GPU), and the synthetic set the bundled model is made from.

files (image names, bytes within limits) <- tars (members, `<tar>::<member>` addresses) <- scan;
guard (every decode: one-line errors, decoders' own stderr captured);
images (open within pixel limits) <- decode (hash, EXIF, pHash, model crop) <- gpu_decode, decode_threads
<- reader (worker processes); watcher (changed paths as they change) -> settle (held until still); synthetic/
stands alone.
"""

from .decode import Decoded, ImageMeta, decode_bytes, decode_file, exif_fields
from .decode_threads import DECODE_CHUNK, Chunk, DecodeThreads, decoder_shape
from .files import IMAGE_EXTENSIONS, MAX_FILE_BYTES, read_bytes, read_file
from .gpu_decode import GPU_MIN_PIXELS, NO_CROP, PHASH_SIZE, JpegJob, decoded_from_gpu, probe
from .guard import guarded, keep_python_stderr
from .hw_jpeg import usable as hardware_jpeg
from .images import DECODE_ERRORS, MAX_PIXELS, open_image
from .reader import Outcome, ReadSettings, read_all, read_found, reader_for, with_bytes
from .scan import FoundFile, ScanOptions, walk, walk_paths, walk_shards
from .settle import Settled, Settling, signature
from .tars import (
    MEMBER_SEP,
    InsideShard,
    Member,
    holding_file,
    is_shard,
    member_address,
    open_source,
    read_source,
    refuse_members,
    source_stat,
    split_address,
)
from .watcher import FolderWatcher, mount_type, needs_polling

__all__ = ["DECODE_CHUNK", "DECODE_ERRORS", "GPU_MIN_PIXELS", "IMAGE_EXTENSIONS", "MAX_FILE_BYTES", "MAX_PIXELS"]
__all__ += ["MEMBER_SEP", "NO_CROP", "PHASH_SIZE", "Chunk", "DecodeThreads", "Decoded", "FoundFile", "ImageMeta"]
__all__ += ["InsideShard", "JpegJob", "Member", "Outcome", "ReadSettings", "ScanOptions", "decode_bytes"]
__all__ += ["decode_file", "decoded_from_gpu", "exif_fields", "holding_file", "is_shard", "member_address"]
__all__ += ["open_image", "open_source", "probe", "read_all", "read_bytes", "read_file", "read_source", "reader_for"]
__all__ += ["decoder_shape", "hardware_jpeg", "read_found", "with_bytes"]
__all__ += ["refuse_members", "source_stat", "split_address", "walk", "walk_paths", "walk_shards", "guarded"]
__all__ += ["FolderWatcher", "Settled", "Settling", "keep_python_stderr", "mount_type", "needs_polling", "signature"]
